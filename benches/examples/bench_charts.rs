//! Renders the pipeline comparisons of BENCHMARKS.md as SVG bar charts, from the figures the
//! measuring tools wrote (tab-separated `mix  subject  value` with a header line):
//!
//! * `benches/charts/instructions.tsv` (`tools/callgrind_table.py --tsv`) →
//!   `instructions.svg`: instructions per batch ÷ the `serde_json::Value` parse's, log scale;
//! * `benches/charts/memory.tsv` (`cargo bench --bench memory -- --tsv`, in benches/) → `memory.svg`: peak
//!   heap ÷ body size;
//! * `benches/charts/time.tsv` (`tools/bench_table.py --tsv`) → `time.svg`: criterion median
//!   ÷ the `serde_json::Value` parse's, log scale.
//!
//! ```text
//! cd benches && cargo run --release --example bench_charts [DIR]   (default DIR: benches/charts)
//! ```
//!
//! A missing input file is skipped with a note; a malformed one is an error.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const MIXES: [&str; 4] = ["us", "mixed", "garbage", "worst"];
/// Subjects in bar order, with their legend and colour (ours first).
const SUBJECTS: [(&str, &str, RGBColor); 6] = [
    ("ours", "ours (whole request)", RGBColor(214, 39, 40)),
    (
        "serde_json_value",
        "serde_json Value (reference)",
        RGBColor(127, 127, 127),
    ),
    ("sonic_rs_value", "sonic-rs Value", RGBColor(31, 119, 180)),
    ("raw_value_split", "RawValue split", RGBColor(44, 160, 44)),
    ("memchr_quotes", "memchr pass", RGBColor(148, 103, 189)),
    (
        "informed_typed_rlib",
        "informed: typed serde + rlibphonenumber",
        RGBColor(255, 127, 14),
    ),
];
const REFERENCE: &str = "serde_json_value";

type Figures = BTreeMap<(String, String), f64>;

/// `mix subject value` rows; the value is the third column (memory: peak ÷ body).
fn read(path: &Path) -> Result<Option<Figures>, Box<dyn Error>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display()).into()),
    };
    let mut figures = Figures::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let cells: Vec<&str> = line.split('\t').collect();
        let bad = || format!("{}:{}: malformed line {line:?}", path.display(), i + 1);
        let value = match cells.as_slice() {
            [_, _, v] => v.parse::<f64>().map_err(|_| bad())?,
            // memory.tsv: mix, subject, body bytes, peak bytes.
            [_, _, body, peak] => {
                peak.parse::<f64>().map_err(|_| bad())? / body.parse::<f64>().map_err(|_| bad())?
            }
            _ => return Err(bad().into()),
        };
        figures.insert((cells[0].to_owned(), cells[1].to_owned()), value);
    }
    Ok(Some(figures))
}

struct Chart<'a> {
    title: &'a str,
    y_desc: &'a str,
    /// Divide each value by the reference subject's on the same mix.
    relative: bool,
    log: bool,
    /// A horizontal goal line for ours: (value, label).
    goal: Option<(f64, &'a str)>,
}

fn draw(chart: &Chart, figures: &Figures, out: &Path) -> Result<(), Box<dyn Error>> {
    let mut bars = Vec::new(); // (x from, x to, value, colour)
    let width = 0.8 / SUBJECTS.len() as f64;
    for (m, mix) in MIXES.iter().enumerate() {
        let reference = figures.get(&(mix.to_string(), REFERENCE.to_owned()));
        for (s, (subject, _, colour)) in SUBJECTS.iter().enumerate() {
            let Some(&value) = figures.get(&(mix.to_string(), subject.to_string())) else {
                continue;
            };
            let value = match (chart.relative, reference) {
                (false, _) => value,
                (true, Some(&r)) if r > 0.0 => value / r,
                (true, _) => continue,
            };
            let x = m as f64 - 0.4 + s as f64 * width;
            bars.push((x, x + width * 0.9, value, *colour));
        }
    }
    let max = bars
        .iter()
        .map(|b| b.2)
        .fold(0.0, f64::max)
        .max(chart.goal.map_or(0.0, |g| g.0));
    let min = bars
        .iter()
        .map(|b| b.2)
        .filter(|v| *v > 0.0)
        .fold(f64::MAX, f64::min);

    let root = SVGBackend::new(out, (960, 540)).into_drawing_area();
    root.fill(&WHITE)?;
    // Mix m's bars are centred on x = m; the labels are at the integers only.
    let x_range = -0.5f64..MIXES.len() as f64 - 0.5;
    let label = |x: &f64| match MIXES.get(x.round() as usize) {
        Some(mix) if (x - x.round()).abs() < 1e-9 && *x >= 0.0 => mix.to_string(),
        _ => String::new(),
    };
    if chart.log {
        let bottom = 10f64.powf((min / 2.0).log10().floor());
        // Two decades of head room: the legend sits there, above the bars.
        let top = 10f64.powf((max * 2.0).log10().ceil() + 2.0);
        let mut ctx = ChartBuilder::on(&root)
            .caption(chart.title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(70)
            .build_cartesian_2d(x_range, (bottom..top).log_scale())?;
        ctx.configure_mesh()
            .disable_x_mesh()
            .x_labels(MIXES.len())
            .x_label_formatter(&label)
            .y_desc(chart.y_desc)
            .y_label_formatter(&|v| format!("{v}"))
            .draw()?;
        finish(&mut ctx, chart, &bars, bottom)?;
    } else {
        let mut ctx = ChartBuilder::on(&root)
            .caption(chart.title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(70)
            .build_cartesian_2d(x_range, 0f64..max * 1.15)?;
        ctx.configure_mesh()
            .disable_x_mesh()
            .x_labels(MIXES.len())
            .x_label_formatter(&label)
            .y_desc(chart.y_desc)
            .draw()?;
        finish(&mut ctx, chart, &bars, 0.0)?;
    }
    root.present()?;
    Ok(())
}

fn finish<'a, X, Y>(
    ctx: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    chart: &Chart,
    bars: &[(f64, f64, f64, RGBColor)],
    bottom: f64,
) -> Result<(), Box<dyn Error>>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for (subject, legend, colour) in SUBJECTS {
        let _ = subject;
        let series = bars
            .iter()
            .filter(|b| b.3 == colour)
            .map(|&(x0, x1, v, c)| Rectangle::new([(x0, bottom), (x1, v)], c.filled()));
        ctx.draw_series(series)?
            .label(legend)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
    }
    let value_style =
        TextStyle::from(("sans-serif", 10).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
    let values = bars
        .iter()
        .map(|&(x0, x1, v, _)| Text::new(short(v), ((x0 + x1) / 2.0, v), value_style.clone()));
    ctx.draw_series(values)?;
    if let Some((goal, text)) = chart.goal {
        let line = LineSeries::new(
            [(-0.5, goal), (MIXES.len() as f64 - 0.5, goal)],
            BLACK.stroke_width(2),
        );
        ctx.draw_series(line)?
            .label(text)
            .legend(|(x, y)| PathElement::new([(x, y), (x + 12, y)], BLACK.stroke_width(2)));
    }
    ctx.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// A bar's value, in as few characters as still tell it.
fn short(v: f64) -> String {
    match v {
        v if v >= 10.0 => format!("{v:.0}"),
        v if v >= 1.0 => format!("{v:.1}"),
        v if v >= 0.1 || v == 0.0 => format!("{v:.2}"),
        v => format!("{v:.3}"),
    }
}

fn run(dir: &Path) -> Result<(), Box<dyn Error>> {
    let charts = [
        (
            "instructions",
            Chart {
                title: "Instructions per 1000-contact batch (callgrind), ÷ serde_json Value parse",
                y_desc: "× serde_json Value (log)",
                relative: true,
                log: true,
                goal: Some((0.25, "goal for ours (issue 13): 0.25×")),
            },
        ),
        (
            "memory",
            Chart {
                title: "Peak heap per 1000-contact batch ÷ body size",
                y_desc: "peak heap ÷ body bytes",
                relative: false,
                log: false,
                goal: Some((1.2, "goal for ours (issue 13): 1.2×")),
            },
        ),
        (
            "time",
            Chart {
                title: "Criterion median per 1000-contact batch, ÷ serde_json Value parse",
                y_desc: "× serde_json Value (log)",
                relative: true,
                log: true,
                goal: Some((0.25, "goal for ours (issue 13): 0.25×")),
            },
        ),
    ];
    for (name, chart) in charts {
        let input = dir.join(format!("{name}.tsv"));
        let Some(figures) = read(&input)? else {
            eprintln!("{}: not found, skipped", input.display());
            continue;
        };
        let out = dir.join(format!("{name}.svg"));
        draw(&chart, &figures, &out)?;
        println!("written: {}", out.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let dir = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/charts")),
        PathBuf::from,
    );
    match run(&dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_charts: {e}");
            ExitCode::FAILURE
        }
    }
}
