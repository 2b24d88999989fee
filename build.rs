//! Build script: compiles the part of libphonenumber's metadata that the E.164 validator
//! (`src/e164/`) needs into Rust tables and serialized DFAs, so that nothing is parsed or
//! compiled at run time.
//!
//! The metadata comes from the `phonenumber` crate (a build-dependency), which ships
//! libphonenumber's `PhoneNumberMetadata.xml`. Its version is pinned in `Cargo.toml`; the
//! library exposes it as `e164::METADATA_VERSION`.
//!
//! Outputs, in `OUT_DIR`:
//! * `e164_tables.rs`: the calling codes, their regions (libphonenumber's order: main country
//!   first) and, per region, the possible lengths and the pattern ids of every number type;
//! * `e164_trans.bin`, `e164_eoi.bin`, `e164_sets.bin`: per calling code, one DFA over all the
//!   patterns of that code's regions (built by `regex-automata`, `MatchKind::All`, anchored),
//!   re-encoded as a compact digit-indexed table (little-endian `u16` states) with, per state,
//!   the set of patterns that match when the input ends there;
//! * `e164_dfa.bin`: when a calling code's main region has a national prefix for parsing, a
//!   serialized leftmost-first dense DFA of that pattern (target endianness);
//! * `e164_metadata_dump.jsonl`: the extracted metadata in the format of
//!   `tools/e164/dump_metadata.py`, to diff against the Python port (the oracle).

use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::nfa::thompson;
use regex_automata::util::primitives::StateID;
use regex_automata::util::syntax;
use regex_automata::{Anchored, MatchKind, meta};

/// libphonenumber's number types that `getNumberType` tests, in the field order of the tables.
const TYPES: [&str; 10] = [
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
];

/// Pattern id meaning "absent".
const NONE: u16 = u16::MAX;

#[derive(Clone)]
struct Desc {
    pattern: String,
    lengths: BTreeSet<u16>,
    local: BTreeSet<u16>,
}

struct Region {
    id: String,
    leading_digits: Option<String>,
    npfp: Option<String>,
    transform: Option<String>,
    general: Desc,
    types: Vec<Option<Desc>>,
    same_mobile_and_fixed_line_pattern: bool,
}

fn strip_ws(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn desc(d: &Descriptor) -> Desc {
    Desc {
        pattern: strip_ws(d.national_number().as_str()),
        lengths: d.possible_length().iter().copied().collect(),
        local: d.possible_local_length().iter().copied().collect(),
    }
}

fn type_desc<'a>(m: &'a Metadata, name: &str) -> Option<&'a Descriptor> {
    let d = m.descriptors();
    match name {
        "fixed_line" => d.fixed_line(),
        "mobile" => d.mobile(),
        "toll_free" => d.toll_free(),
        "premium_rate" => d.premium_rate(),
        "shared_cost" => d.shared_cost(),
        "voip" => d.voip(),
        "personal_number" => d.personal_number(),
        "pager" => d.pager(),
        "uan" => d.uan(),
        "voicemail" => d.voicemail(),
        other => panic!("unknown type {other}"),
    }
}

fn region(m: &Metadata) -> Region {
    let types: Vec<Option<Desc>> = TYPES.iter().map(|t| type_desc(m, t).map(desc)).collect();
    // libphonenumber derives the general description's possible lengths from the child
    // descriptions (all but noInternationalDialling, which `phonenumber` keeps apart anyway,
    // plus the ones that exist only in short-number metadata); a local-only length that is a
    // national length of another type is dropped.
    let d = m.descriptors();
    let extra = [
        d.emergency(),
        d.short_code(),
        d.standard_rate(),
        d.carrier(),
    ];
    let mut lengths = BTreeSet::new();
    let mut local = BTreeSet::new();
    for x in types.iter().flatten() {
        lengths.extend(x.lengths.iter().copied());
        local.extend(x.local.iter().copied());
    }
    for x in extra.iter().flatten() {
        lengths.extend(x.possible_length().iter().copied());
        local.extend(x.possible_local_length().iter().copied());
    }
    let local = local.difference(&lengths).copied().collect();
    let general = Desc {
        pattern: strip_ws(d.general().national_number().as_str()),
        lengths,
        local,
    };
    // libphonenumber: nationalPrefixForParsing defaults to the national prefix.
    let npfp = m
        .national_prefix_for_parsing()
        .map(|r| strip_ws(r.as_str()))
        .or_else(|| m.national_prefix().map(strip_ws))
        .filter(|s| !s.is_empty());
    let transform = if m.national_prefix_for_parsing().is_some() {
        m.national_prefix_transform_rule()
            .map(strip_ws)
            .filter(|s| !s.is_empty())
    } else {
        None
    };
    let same = match (&types[0], &types[1]) {
        (None, None) => true,
        (Some(f), Some(mo)) => f.pattern == mo.pattern,
        _ => false,
    };
    Region {
        id: m.id().to_owned(),
        leading_digits: m.leading_digits().map(|r| strip_ws(r.as_str())),
        npfp,
        transform,
        general,
        types,
        same_mobile_and_fixed_line_pattern: same,
    }
}

fn json_str(out: &mut String, s: Option<&str>) {
    match s {
        None => out.push_str("null"),
        Some(s) => out.push_str(&serde_json::to_string(s).expect("string to JSON")),
    }
}

fn json_desc(out: &mut String, d: Option<&Desc>) {
    match d {
        None => out.push_str("null"),
        Some(d) => {
            let v = serde_json::json!({
                "pattern": d.pattern,
                "lengths": d.lengths.iter().collect::<Vec<_>>(),
                "local": d.local.iter().collect::<Vec<_>>(),
            });
            out.push_str(&v.to_string());
        }
    }
}

/// Transform rule (`$1` or `\1` syntax) → tokens: a literal digit string or a group number.
fn transform_tokens(rule: &str) -> Vec<(bool, String)> {
    let mut out: Vec<(bool, String)> = Vec::new();
    let mut chars = rule.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' || c == '\\' {
            let mut n = String::new();
            while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                n.push(d);
                chars.next();
            }
            assert!(!n.is_empty(), "bad transform rule {rule}");
            out.push((true, n));
        } else {
            assert!(c.is_ascii_digit(), "bad transform rule {rule}");
            match out.last_mut() {
                Some((false, lit)) => lit.push(c),
                _ => out.push((false, c.to_string())),
            }
        }
    }
    out
}

fn syntax_config() -> syntax::Config {
    syntax::Config::new().unicode(false).utf8(false)
}

fn build_dfa(patterns: &[&str], kind: MatchKind) -> dense::DFA<Vec<u32>> {
    dense::Builder::new()
        .configure(
            dense::Config::new()
                .match_kind(kind)
                .start_kind(StartKind::Anchored)
                .minimize(false),
        )
        .syntax(syntax_config())
        .thompson(thompson::Config::new().utf8(false))
        .build_many(patterns)
        .unwrap_or_else(|e| panic!("DFA for {patterns:?}: {e}"))
}

fn dfa_bytes(patterns: &[&str], kind: MatchKind, big_endian: bool) -> Vec<u8> {
    let dfa = build_dfa(patterns, kind);
    let (bytes, pad) = if big_endian {
        dfa.to_bytes_big_endian()
    } else {
        dfa.to_bytes_little_endian()
    };
    bytes[pad..].to_vec()
}

/// Re-encodes an anchored `MatchKind::All` DFA over digits as a compact table: local state 0
/// is dead, 1 the start; row `s` of `trans` holds the 10 next states on the digits 0-9, and
/// `eoi[s]` the id (in `sets`, 0 = empty) of the set of patterns that match when the input
/// ends in state `s`. Rows are numbered breadth-first, so the states every number goes
/// through share cache lines.
fn compact(
    dfa: &dense::DFA<Vec<u32>>,
    sets: &mut Vec<Vec<u32>>,
    set_ids: &mut BTreeMap<Vec<u32>, u16>,
) -> (Vec<u16>, Vec<u16>) {
    let start = dfa
        .universal_start_state(Anchored::Yes)
        .expect("no look-behind: one anchored start state");
    let mut local: BTreeMap<StateID, u16> = BTreeMap::new();
    let mut order = vec![start];
    local.insert(start, 1);
    let mut trans = vec![0u16; 10];
    let mut eoi = vec![0u16];
    let mut i = 0;
    while i < order.len() {
        let sid = order[i];
        for d in b'0'..=b'9' {
            let next = dfa.next_state(sid, d);
            assert!(!dfa.is_quit_state(next), "quit state");
            let id = if dfa.is_dead_state(next) {
                0
            } else if let Some(&id) = local.get(&next) {
                id
            } else {
                order.push(next);
                let id = u16::try_from(order.len()).expect("fewer than 65536 states");
                local.insert(next, id);
                id
            };
            trans.push(id);
        }
        let end = dfa.next_eoi_state(sid);
        let set_id = if dfa.is_match_state(end) {
            let mut pats: Vec<u32> = (0..dfa.match_len(end))
                .map(|k| dfa.match_pattern(end, k).as_u32())
                .collect();
            pats.sort_unstable();
            *set_ids.entry(pats.clone()).or_insert_with(|| {
                sets.push(pats);
                u16::try_from(sets.len() - 1).expect("fewer than 65536 match sets")
            })
        } else {
            0
        };
        eoi.push(set_id);
        i += 1;
    }
    (trans, eoi)
}

fn lengths_mask(set: &BTreeSet<u16>) -> u32 {
    set.iter().fold(0u32, |m, &l| {
        assert!(l < 32, "possible length {l} out of range");
        m | (1 << l)
    })
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let big_endian = env::var("CARGO_CFG_TARGET_ENDIAN").as_deref() == Ok("big");

    // Calling codes in ascending order, regions in libphonenumber's order (main first, then
    // the order of the XML file), as the `phonenumber` crate's database keeps them.
    let mut codes: BTreeMap<u16, Vec<Region>> = BTreeMap::new();
    for cc in 1u16..=999 {
        if let Some(list) = DATABASE.by_code(&cc) {
            codes.insert(cc, list.into_iter().map(region).collect());
        }
    }
    assert!(codes.len() > 200, "metadata looks empty");

    let mut dump = String::new();
    let mut blob: Vec<u8> = Vec::new();
    let mut src = String::new();
    let mut code_entries = String::new();
    let mut index = vec![0u16; 1000];
    let mut max_patterns = 0usize;
    let mut max_groups = 0usize;
    let mut max_transform_len = 0usize;
    let mut all_trans: Vec<u16> = Vec::new();
    let mut all_eoi: Vec<u16> = Vec::new();
    let mut sets: Vec<Vec<u32>> = vec![Vec::new()];
    let mut set_ids: BTreeMap<Vec<u32>, u16> = BTreeMap::new();

    for (ci, (&cc, regions)) in codes.iter().enumerate() {
        index[usize::from(cc)] = u16::try_from(ci + 1).expect("code index");
        // Pattern ids, deduplicated by pattern text within the code.
        let mut patterns: Vec<String> = Vec::new();
        let mut id_of = |p: &str| -> u16 {
            let pos = patterns.iter().position(|q| q == p).unwrap_or_else(|| {
                patterns.push(p.to_owned());
                patterns.len() - 1
            });
            u16::try_from(pos).expect("pattern id")
        };
        let mut region_src = String::new();
        let mut general_ids: Vec<u16> = Vec::new();
        for r in regions {
            // Dump line, same keys as tools/e164/dump_metadata.py (compared as JSON values).
            dump.push_str(&format!("{{\"cc\": {cc}, \"region\": "));
            json_str(&mut dump, Some(&r.id));
            dump.push_str(", \"leading_digits\": ");
            json_str(&mut dump, r.leading_digits.as_deref());
            dump.push_str(", \"npfp\": ");
            json_str(&mut dump, r.npfp.as_deref());
            dump.push_str(", \"transform\": ");
            // In the Python port's syntax (`\1` instead of Java's `$1`).
            json_str(
                &mut dump,
                r.transform
                    .as_ref()
                    .map(|t| t.replace('$', "\\"))
                    .as_deref(),
            );
            dump.push_str(", \"general\": ");
            json_desc(&mut dump, Some(&r.general));
            for (t, d) in TYPES.iter().zip(&r.types) {
                dump.push_str(&format!(", \"{t}\": "));
                json_desc(&mut dump, d.as_ref());
            }
            dump.push_str(&format!(
                ", \"same_mobile_and_fixed_line_pattern\": {}}}\n",
                r.same_mobile_and_fixed_line_pattern
            ));

            assert!(
                !r.general.lengths.is_empty(),
                "{}: no possible length",
                r.id
            );
            let desc_src = |d: &Desc, id_of: &mut dyn FnMut(&str) -> u16| -> String {
                let pattern = if d.pattern.is_empty() {
                    NONE
                } else {
                    id_of(&d.pattern)
                };
                format!(
                    "Desc {{ pattern: {pattern}, lengths: {:#x}, local: {:#x} }}",
                    lengths_mask(&d.lengths),
                    lengths_mask(&d.local)
                )
            };
            let general = desc_src(&r.general, &mut id_of);
            if !r.general.pattern.is_empty() {
                general_ids.push(id_of(&r.general.pattern));
            }
            let mut types = String::new();
            for d in &r.types {
                match d {
                    None => types.push_str("None, "),
                    Some(d) => {
                        types.push_str(&format!("Some({}), ", desc_src(d, &mut id_of)));
                    }
                }
            }
            // A prefix match (`lookingAt`) of `p` is a whole match of `(?:p)[0-9]*` on digits,
            // so every pattern of the DFA is read at the end of input only.
            let ld = r
                .leading_digits
                .as_deref()
                .map_or(NONE, |p| id_of(&format!("(?:{p})[0-9]*")));
            writeln!(
                region_src,
                "        Region {{ id: {:?}, leading_digits: {ld}, general: {general}, \
                 types: [{types}], same_mobile_and_fixed_line_pattern: {} }},",
                r.id, r.same_mobile_and_fixed_line_pattern
            )
            .expect("write");
        }

        // National prefix for parsing: only the main region's is ever used (parse() strips
        // with the metadata of the calling code's main region).
        let main = &regions[0];
        let npfp_src = match &main.npfp {
            None => "None".to_owned(),
            Some(p) => {
                let bit = id_of(&format!("(?:{p})[0-9]*"));
                let lf = dfa_bytes(&[p.as_str()], MatchKind::LeftmostFirst, big_endian);
                while !blob.len().is_multiple_of(8) {
                    blob.push(0);
                }
                let (off, len) = (blob.len(), lf.len());
                blob.extend_from_slice(&lf);
                // Check the pattern with the regex engine used at run time for captures.
                let re = meta::Regex::builder()
                    .syntax(syntax_config())
                    .build(p)
                    .unwrap_or_else(|e| panic!("npfp {p}: {e}"));
                let groups = re.group_info().group_len(regex_automata::PatternID::ZERO) - 1;
                max_groups = max_groups.max(groups);
                let transform = match &main.transform {
                    None => "None".to_owned(),
                    Some(t) => {
                        assert!(groups > 0, "{}: transform rule without groups", main.id);
                        let toks = transform_tokens(t);
                        let mut lit_len = 0;
                        let mut s = String::from("Some(&[");
                        for (is_group, v) in toks {
                            if is_group {
                                let g: usize = v.parse().expect("group number");
                                assert!(g <= groups, "{}: transform group {g}", main.id);
                                // A group spans at most the whole national number.
                                lit_len += 17;
                                s.push_str(&format!("Tok::Group({g}), "));
                            } else {
                                lit_len += v.len();
                                s.push_str(&format!("Tok::Lit({v:?}), "));
                            }
                        }
                        max_transform_len = max_transform_len.max(lit_len + 17);
                        s.push_str("])");
                        s
                    }
                };
                format!(
                    "Some(Npfp {{ bit: {bit}, dfa: ({off}, {len}), groups: {groups}, \
                     pattern: {p:?}, transform: {transform} }})"
                )
            }
        };

        max_patterns = max_patterns.max(patterns.len());
        let mut general_mask = vec![0u64; patterns.len().div_ceil(64).max(1)];
        for id in general_ids {
            general_mask[usize::from(id) / 64] |= 1 << (id % 64);
        }
        let refs: Vec<&str> = patterns.iter().map(String::as_str).collect();
        let (trans, eoi) = compact(&build_dfa(&refs, MatchKind::All), &mut sets, &mut set_ids);
        let (trans_off, eoi_off) = (all_trans.len(), all_eoi.len());
        all_trans.extend_from_slice(&trans);
        all_eoi.extend_from_slice(&eoi);

        writeln!(
            code_entries,
            "    Code {{\n        cc: {cc},\n        trans: {trans_off},\n        eoi: {eoi_off},\n        general_mask: &{general_mask:?},\n        npfp: {npfp_src},\n        regions: &[\n{region_src}        ],\n    }},"
        )
        .expect("write");
    }

    writeln!(
        src,
        "// @generated by build.rs from the `phonenumber` crate's metadata."
    )
    .unwrap();
    writeln!(src, "/// Number of calling codes.").unwrap();
    writeln!(src, "pub(crate) const CODE_COUNT: usize = {};", codes.len()).unwrap();
    writeln!(
        src,
        "/// Words of a pattern bitmap (the largest calling code has {max_patterns} patterns)."
    )
    .unwrap();
    writeln!(
        src,
        "pub(crate) const BITMAP_WORDS: usize = {};",
        max_patterns.div_ceil(64)
    )
    .unwrap();
    writeln!(
        src,
        "/// Most capture groups in a national-prefix-for-parsing pattern."
    )
    .unwrap();
    writeln!(src, "pub(crate) const MAX_GROUPS: usize = {max_groups};").unwrap();
    writeln!(
        src,
        "/// Upper bound on the length of a transformed national number."
    )
    .unwrap();
    writeln!(
        src,
        "pub(crate) const MAX_TRANSFORMED: usize = {};",
        max_transform_len.max(17)
    )
    .unwrap();
    writeln!(
        src,
        "/// Calling code → 1 + index in [`CODES`], 0 when unassigned."
    )
    .unwrap();
    writeln!(
        src,
        "pub(crate) static CODE_INDEX: [u16; 1000] = {index:?};"
    )
    .unwrap();
    writeln!(src, "/// The calling codes, ascending.").unwrap();
    writeln!(
        src,
        "pub(crate) static CODES: [Code; CODE_COUNT] = [\n{code_entries}];"
    )
    .unwrap();

    fs::write(out_dir.join("e164_tables.rs"), src).expect("write tables");
    fs::write(out_dir.join("e164_dfa.bin"), blob).expect("write DFAs");
    let words = max_patterns.div_ceil(64);
    let mut set_bytes = Vec::with_capacity(sets.len() * words * 8);
    for set in &sets {
        let mut bitmap = vec![0u64; words];
        for &p in set {
            bitmap[p as usize / 64] |= 1 << (p % 64);
        }
        for w in bitmap {
            set_bytes.extend_from_slice(&w.to_le_bytes());
        }
    }
    let le16 = |v: &[u16]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    fs::write(out_dir.join("e164_trans.bin"), le16(&all_trans)).expect("write transitions");
    fs::write(out_dir.join("e164_eoi.bin"), le16(&all_eoi)).expect("write end states");
    fs::write(out_dir.join("e164_sets.bin"), set_bytes).expect("write match sets");
    fs::write(out_dir.join("e164_metadata_dump.jsonl"), dump).expect("write dump");
}
