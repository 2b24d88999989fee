//! Renders the normalization comparison of BENCHMARKS.md as an SVG bar chart, from the figures
//! `tools/e164/bench_normalize.sh --write` wrote (`benches/charts/normalize.tsv`: a header,
//! then `subject  ns_per_input  cpu_ns_per_input  instructions_per_input` with the last cell
//! empty when not counted) → `benches/charts/normalize.svg`: the wall-clock and the CPU time
//! per input of ours, `rlibphonenumber` and Python's `phonenumbers`, log scale, each bar
//! labelled with its time and its ratio to ours, and the goal of issue 14 (300 ns) as a line.
//!
//! ```text
//! cd benches && cargo run --release --example normalize_chart [DIR]   (default DIR: benches/charts)
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Subjects in bar order, with their label and colour (ours first, as in the other charts).
const SUBJECTS: [(&str, &str, RGBColor); 3] = [
    ("ours", "ours (e164::normalize)", RGBColor(214, 39, 40)),
    ("rlibphonenumber", "rlibphonenumber", RGBColor(255, 127, 14)),
    (
        "phonenumbers",
        "Python phonenumbers",
        RGBColor(31, 119, 180),
    ),
];
/// Issue 14's goal for ours, in nanoseconds per input.
const GOAL_NS: f64 = 300.0;

/// The wall-clock and CPU nanoseconds per input of each subject, in [`SUBJECTS`] order.
fn read(path: &Path) -> Result<Vec<[f64; 2]>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut values = Vec::new();
    for (subject, _, _) in SUBJECTS {
        let line = text
            .lines()
            .skip(1)
            .find(|l| l.split('\t').next() == Some(subject))
            .ok_or_else(|| format!("{}: no line for {subject}", path.display()))?;
        let cell = |i: usize| {
            line.split('\t')
                .nth(i)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| *v > 0.0)
                .ok_or_else(|| format!("{}: malformed line {line:?}", path.display()))
        };
        values.push([cell(1)?, cell(2)?]);
    }
    Ok(values)
}

fn time(ns: f64) -> String {
    if ns >= 1000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

fn draw(values: &[[f64; 2]], out: &Path) -> Result<(), Box<dyn Error>> {
    let ours = values.first().copied().unwrap_or([1.0, 1.0]);
    let all = values.iter().flatten().copied();
    let max = all.clone().fold(GOAL_NS, f64::max);
    let min = all.fold(GOAL_NS, f64::min);
    let bottom = 10f64.powf((min / 2.0).log10().floor());
    let top = 10f64.powf((max * 4.0).log10().ceil());
    let root = SVGBackend::new(out, (860, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = SUBJECTS.len() as f64;
    let mut ctx = ChartBuilder::on(&root)
        .caption(
            "Normalization: time per input, 2,000 mixed corpus inputs",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5f64..n - 0.5, (bottom..top).log_scale())?;
    let label = |x: &f64| match SUBJECTS.get(x.round() as usize) {
        Some((_, name, _)) if (x - x.round()).abs() < 1e-9 && *x >= 0.0 => name.to_string(),
        _ => String::new(),
    };
    ctx.configure_mesh()
        .disable_x_mesh()
        .x_labels(SUBJECTS.len())
        .x_label_formatter(&label)
        .y_desc("nanoseconds per input (log)")
        .y_label_formatter(&|v| format!("{v}"))
        .draw()?;
    // Per subject: the wall-clock bar (full colour), then the CPU-time bar (light).
    for (i, ((_, _, colour), pair)) in SUBJECTS.iter().zip(values).enumerate() {
        for (k, (&ns, &reference)) in pair.iter().zip(&ours).enumerate() {
            let x = i as f64 - 0.2 + 0.4 * k as f64;
            let fill = if k == 0 {
                colour.filled()
            } else {
                colour.mix(0.45).filled()
            };
            ctx.draw_series([Rectangle::new([(x - 0.18, bottom), (x + 0.18, ns)], fill)])?;
            let ratio = if i == 0 {
                String::new()
            } else {
                let r = ns / reference;
                if r < 100.0 {
                    format!(" ({r:.1}×)")
                } else {
                    format!(" ({r:.0}×)")
                }
            };
            let style = TextStyle::from(("sans-serif", 12).into_font())
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            ctx.draw_series([Text::new(format!("{}{ratio}", time(ns)), (x, ns), style)])?;
        }
    }
    let grey = RGBColor(110, 110, 110);
    ctx.draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
        .label("left bar: wall-clock (median); right, light: CPU time; (×): ÷ ours")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], grey.filled()));
    ctx.draw_series(LineSeries::new(
        [(-0.5, GOAL_NS), (n - 0.5, GOAL_NS)],
        BLACK.stroke_width(2),
    ))?
    .label("goal for ours (issue 14): 300 ns")
    .legend(|(x, y)| PathElement::new([(x, y), (x + 12, y)], BLACK.stroke_width(2)));
    ctx.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn main() -> ExitCode {
    let dir = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/charts")),
        PathBuf::from,
    );
    let run = || -> Result<PathBuf, Box<dyn Error>> {
        let values = read(&dir.join("normalize.tsv"))?;
        let out = dir.join("normalize.svg");
        draw(&values, &out)?;
        Ok(out)
    };
    match run() {
        Ok(out) => {
            println!("written: {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("normalize_chart: {e}");
            ExitCode::FAILURE
        }
    }
}
