//! What each CSV column is: header names matched to the contact's members (trimmed, any case,
//! spaces, `-` and `_` alike), `--map 'HEADER=member'` for the others, a warning for a column
//! that names no member, and each record written as the contact's JSON text.

use bulk_contacts::{Field, Member};

/// The members of the CSV import that the rules do not read (kept by the server as sent).
const AD_NETWORK: [&str; 2] = ["ad_network_source", "ad_network_id"];

/// The members a column may name: those the rules read, in the SPEC's order (the library's
/// [`Member`] table), then the ad-network ones of the CSV import.
const MEMBERS: [&str; Member::ALL.len() + AD_NETWORK.len()] = {
    let mut all = [""; Member::ALL.len() + AD_NETWORK.len()];
    let mut at = 0;
    while at < Member::ALL.len() {
        all[at] = Member::ALL[at].name();
        at += 1;
    }
    let mut extra = 0;
    while extra < AD_NETWORK.len() {
        all[at + extra] = AD_NETWORK[extra];
        extra += 1;
    }
    all
};

const PHONE: &str = Member::PhoneNumber.name();
const LIST: &str = Member::ListNumber.name();

/// The members whose `true`/`false` cells are sent as booleans.
const FLAGS: [Field; 4] = [
    Field::UseJourneys,
    Field::SkipJourneyIfExists,
    Field::UseValidation,
    Field::ReplaceCustomFields,
];

/// The prefix of a column whose cells go into `custom_fields`.
const CUSTOM: &str = Member::CustomFields.name();

/// What a column becomes in the contact.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A top-level member (a number, a flag, another member, or a name that is no member):
    /// the cell as a string; a flag's `true`/`false` as a boolean.
    Member { name: String, flag: bool },
    /// `custom_fields.NAME`: the cell as a string in `custom_fields`.
    Custom(String),
    /// `--map 'HEADER='`: not sent.
    Ignored,
}

/// One `--map 'HEADER=member'`.
#[derive(Debug, Clone)]
pub struct Map {
    header: String,
    target: Target,
}

impl std::str::FromStr for Map {
    type Err = String;

    /// `HEADER=member`, split at the first `=`; `member` is a member name (matched like a
    /// header), `custom_fields.NAME`, or empty (the column is left out).
    fn from_str(text: &str) -> Result<Map, String> {
        let Some((header, member)) = text.split_once('=') else {
            return Err(format!(
                "{text:?} is not HEADER=member (e.g. 'Mobile=phone_number')"
            ));
        };
        if header.trim().is_empty() {
            return Err(format!("{text:?} names no header before '='"));
        }
        let target = if member.trim().is_empty() {
            Target::Ignored
        } else {
            match target_of(member) {
                Some(target) => target,
                None => {
                    return Err(format!(
                        "{member:?} is no contact member{}; a custom field is written custom_fields.NAME, \
                         and an empty member (\"{header}=\") leaves the column out",
                        did_you_mean(member)
                            .map(|m| format!(" (did you mean {m}?)"))
                            .unwrap_or_default()
                    ));
                }
            }
        };
        Ok(Map {
            header: header.to_owned(),
            target,
        })
    }
}

/// A header name as matched: trimmed, lower case, every run of spaces, `-` and `_` one `_`.
fn key(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    let mut gap = false;
    for c in name.trim().chars() {
        if c == ' ' || c == '-' || c == '_' || c.is_whitespace() {
            gap = true;
            continue;
        }
        if gap && !key.is_empty() {
            key.push('_');
        }
        gap = false;
        key.extend(c.to_lowercase());
    }
    key
}

/// The member a name names (`custom_fields.NAME` keeps `NAME` as written), or `None`.
fn target_of(name: &str) -> Option<Target> {
    let name = name.trim();
    if let Some((prefix, field)) = name.split_once('.')
        && key(prefix) == CUSTOM
    {
        return Some(Target::Custom(field.to_owned()));
    }
    let key = key(name);
    let member = MEMBERS.iter().find(|m| **m == key)?;
    let flag = FLAGS.iter().any(|f| f.as_str() == *member);
    Some(Target::Member {
        name: (*member).to_owned(),
        flag,
    })
}

/// The member closest to `name` when it is close enough to be a typo (at least 3/4 of the
/// characters alike, by Damerau-Levenshtein distance) or a shortening (a member starts
/// with it, e.g. `Phone`, `IP`).
fn did_you_mean(name: &str) -> Option<&'static str> {
    let key = key(name);
    if key.len() >= 2
        && let Some(member) = MEMBERS.iter().find(|m| m.starts_with(&key))
    {
        return Some(member);
    }
    MEMBERS
        .iter()
        .map(|m| (strsim::normalized_damerau_levenshtein(&key, m), *m))
        .filter(|(score, _)| *score >= 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, m)| m)
}

/// A column: what it becomes, how it is written, and its JSON key (`"name":`), ready to
/// write.
#[derive(Debug)]
struct Column {
    target: Target,
    kind: Kind,
    key: Vec<u8>,
}

/// How a column's cell is written (the part of [`Target`] that [`Plan::contact`] reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Flag,
    List,
    Custom,
    Ignored,
}

/// The columns of a CSV file, and how a record becomes a contact.
#[derive(Debug)]
pub struct Plan {
    header: Vec<String>,
    columns: Vec<Column>,
    phone: usize,
    list: Option<usize>,
    /// `--list-number`, as a JSON string.
    default_list: Option<Vec<u8>>,
    /// The `custom_fields` cells of the record being written (reused).
    custom: Vec<usize>,
    /// The bytes of all keys and punctuation a contact may need beyond its cells.
    keys: usize,
}

/// How `names` reads, for messages: `"A", "B", "C"`.
fn listed(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Plan {
    /// The plan of a header; a message when the columns cannot make contacts (exit 2).
    pub fn new(
        header: &[String],
        maps: &[Map],
        default_list: Option<&str>,
    ) -> Result<Plan, String> {
        let mut targets: Vec<Option<Target>> = header.iter().map(|name| target_of(name)).collect();
        for map in maps {
            let wanted = key(&map.header);
            let mut found = false;
            for (at, name) in header.iter().enumerate() {
                if key(name) == wanted {
                    targets[at] = Some(map.target.clone());
                    found = true;
                }
            }
            if !found {
                return Err(format!(
                    "--map names the column {:?}, which the header does not have; its columns are {}",
                    map.header,
                    listed(header)
                ));
            }
        }
        let mut columns = Vec::with_capacity(header.len());
        for (at, (name, target)) in header.iter().zip(targets).enumerate() {
            let target = target.unwrap_or_else(|| Target::Member {
                name: name.clone(),
                flag: false,
            });
            if target != Target::Ignored
                && let Some(before) = columns.iter().position(|c: &Column| c.target == target)
            {
                return Err(format!(
                    "columns {} ({:?}) and {} ({name:?}) both name {}: leave one out with --map '{name}='",
                    before + 1,
                    header[before],
                    at + 1,
                    describe(&target)
                ));
            }
            let key = match &target {
                Target::Member { name, .. } | Target::Custom(name) => {
                    let mut key = json_string(name.as_bytes());
                    key.push(b':');
                    key
                }
                Target::Ignored => Vec::new(),
            };
            let kind = match &target {
                Target::Member { flag: true, .. } => Kind::Flag,
                Target::Member { name, .. } if name == LIST => Kind::List,
                Target::Member { .. } => Kind::Text,
                Target::Custom(_) => Kind::Custom,
                Target::Ignored => Kind::Ignored,
            };
            columns.push(Column { target, kind, key });
        }
        let find = |member: &str| {
            columns
                .iter()
                .position(|c| matches!(&c.target, Target::Member { name, .. } if name == member))
        };
        let Some(phone) = find(PHONE) else {
            let example = header
                .iter()
                .find(|h| {
                    let k = key(h);
                    ["phone", "mobile", "cell", "tel", "number"]
                        .iter()
                        .any(|w| k.contains(w))
                })
                .or(header.first())
                .map_or("Phone", String::as_str);
            return Err(format!(
                "no column names {PHONE}: the columns are {}. Name the column of phone numbers \
                 with --map, e.g. --map '{example}={PHONE}'",
                listed(header)
            ));
        };
        let list = find(LIST);
        let keys = columns.iter().map(|c| c.key.len() + 3).sum::<usize>() + 64 + 2 * CUSTOM.len();
        Ok(Plan {
            header: header.to_vec(),
            columns,
            phone,
            list,
            default_list: default_list.map(|n| json_string(n.as_bytes())),
            keys,
            custom: Vec::new(),
        })
    }

    /// The number of columns.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// The column of phone numbers, and of list numbers when there is one.
    pub fn number_columns(&self) -> (usize, Option<usize>) {
        (self.phone, self.list)
    }

    /// The header of column `at` (0-based), as written.
    pub fn name(&self, at: usize) -> &str {
        &self.header[at]
    }

    /// One warning for each column that names no member (its cells are sent as a member of
    /// that name, which the server keeps as an extra field).
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        for (at, (column, name)) in self.columns.iter().zip(&self.header).enumerate() {
            let Target::Member { name: member, .. } = &column.target else {
                continue;
            };
            if MEMBERS.contains(&member.as_str()) {
                continue;
            }
            let suggestion = match did_you_mean(name) {
                Some(member) => member.to_owned(),
                None => format!("{CUSTOM}.{}", key(name)),
            };
            warnings.push(format!(
                "column {} {name:?} names no contact member: its cells are sent as the member {name:?}, \
                 which the server keeps as an extra field. Did you mean {suggestion}? \
                 (--map '{name}={suggestion}', or --map '{name}=' to leave it out)",
                at + 1
            ));
        }
        warnings
    }

    /// Writes the contact of a record into `text` as JSON: cell `k` is `data[spans[k]]`, and
    /// an empty cell sends nothing. `contiguous`: the cells are one run of `data` with single
    /// ASCII separators between them, so one UTF-8 check covers them all. The error: the
    /// column of a cell that is not UTF-8.
    pub fn contact(
        &mut self,
        data: &[u8],
        spans: &[(usize, usize)],
        contiguous: bool,
        text: &mut Vec<u8>,
    ) -> Result<(), usize> {
        let whole = match (spans.first(), spans.last()) {
            (Some(first), Some(last)) => &data[first.0..last.1],
            _ => &[][..],
        };
        let (escape, high) = classify(whole);
        let plain = contiguous && !escape;
        let checked = contiguous && (!high || std::str::from_utf8(whole).is_ok());
        if !checked {
            for (at, &(start, stop)) in spans.iter().enumerate() {
                if self.columns[at].kind != Kind::Ignored
                    && std::str::from_utf8(&data[start..stop]).is_err()
                {
                    return Err(at);
                }
            }
        }
        let write = |text: &mut Vec<u8>, cell: &[u8]| {
            if plain {
                text.push(b'"');
                text.extend_from_slice(cell);
                text.push(b'"');
            } else {
                write_string(text, cell);
            }
        };
        text.clear();
        text.reserve(whole.len() + self.keys);
        text.push(b'{');
        self.custom.clear();
        let mut has_list = false;
        for (at, (column, &(start, stop))) in self.columns.iter().zip(spans).enumerate() {
            let cell = &data[start..stop];
            if cell.is_empty() {
                continue;
            }
            match column.kind {
                Kind::Ignored => continue,
                Kind::Custom => {
                    self.custom.push(at);
                    continue;
                }
                Kind::Flag => {
                    text.extend_from_slice(&column.key);
                    match cell.trim_ascii() {
                        f if f.eq_ignore_ascii_case(b"true") => text.extend_from_slice(b"true"),
                        f if f.eq_ignore_ascii_case(b"false") => text.extend_from_slice(b"false"),
                        _ => write(text, cell),
                    }
                }
                Kind::List if self.default_list.is_some() && cell.trim_ascii().is_empty() => {
                    continue;
                }
                kind => {
                    has_list |= kind == Kind::List;
                    text.extend_from_slice(&column.key);
                    write(text, cell);
                }
            }
            text.push(b',');
        }
        if !has_list && let Some(json) = &self.default_list {
            text.extend_from_slice(b"\"list_number\":");
            text.extend_from_slice(json);
            text.push(b',');
        }
        if !self.custom.is_empty() {
            text.extend_from_slice(b"\"custom_fields\":{");
            for &at in &self.custom {
                let (start, stop) = spans[at];
                text.extend_from_slice(&self.columns[at].key);
                write(text, &data[start..stop]);
                text.push(b',');
            }
            if let Some(last) = text.last_mut() {
                *last = b'}';
            }
            text.push(b',');
        }
        match text.last_mut() {
            Some(last @ b',') => *last = b'}',
            _ => text.push(b'}'),
        }
        Ok(())
    }
}

/// How a target reads in a message.
fn describe(target: &Target) -> String {
    match target {
        Target::Member { name, .. } => name.clone(),
        Target::Custom(name) => format!("{CUSTOM}.{name}"),
        Target::Ignored => "nothing".to_owned(),
    }
}

/// Whether some byte of `text` needs escaping in a JSON string (a control character, `"`
/// or `\\`), and whether some byte is not ASCII: eight bytes at a time.
fn classify(text: &[u8]) -> (bool, bool) {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // A byte of `x` is zero: its high bit in the result (exact for the first such byte, and
    // no false answer for a word without one).
    let zero_in = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let (mut escape, mut high) = (0u64, 0u64);
    let mut chunks = text.chunks_exact(8);
    for chunk in &mut chunks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(bytes);
        high |= x;
        // Bytes below 0x20 (of ASCII bytes: non-ASCII ones are caught by `high`).
        escape |= x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        escape |= zero_in(x ^ (ONES * u64::from(b'"'))) | zero_in(x ^ (ONES * u64::from(b'\\')));
    }
    let mut tail_escape = false;
    for &b in chunks.remainder() {
        tail_escape |= (b < 0x20) | (b == b'"') | (b == b'\\');
        high |= u64::from(b);
    }
    (escape != 0 || tail_escape, high & HIGH != 0)
}

/// A JSON string of `text` (UTF-8).
fn json_string(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 2);
    write_string(&mut out, text);
    out
}

/// Writes `text` (UTF-8) as a JSON string: as it is between quotes when nothing needs
/// escaping (what serde_json writes then too), else through serde_json.
fn write_string(out: &mut Vec<u8>, text: &[u8]) {
    // No early exit: the loop vectorizes, and cells are short.
    let plain = !text.iter().fold(false, |odd, &b| {
        odd | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        out.push(b'"');
        out.extend_from_slice(text);
        out.push(b'"');
    } else {
        // The caller checked the text is UTF-8; writing into a Vec cannot fail.
        let text = String::from_utf8_lossy(text);
        let _ = serde_json::to_writer(&mut *out, text.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn headers_match_members_trimmed_in_any_case_with_spaces_dashes_and_underscores_alike() {
        for name in [
            "Phone Number",
            "phone-number",
            " PHONE_NUMBER ",
            "phone  number",
            "Phone_Number",
        ] {
            assert_eq!(
                target_of(name),
                Some(Target::Member {
                    name: "phone_number".into(),
                    flag: false
                }),
                "{name}"
            );
        }
        assert_eq!(
            target_of("Use Journeys"),
            Some(Target::Member {
                name: "use_journeys".into(),
                flag: true
            })
        );
        assert_eq!(
            target_of("Custom Fields.First Name"),
            Some(Target::Custom("First Name".into()))
        );
        assert_eq!(target_of("Phone"), None);
        assert_eq!(did_you_mean("Phone"), Some("phone_number"));
        assert_eq!(did_you_mean("IP"), Some("ip_address"));
        assert_eq!(did_you_mean("phone_numbr"), Some("phone_number"));
        assert_eq!(did_you_mean("Email"), None);
        assert_eq!(did_you_mean("Last Name"), None);
    }

    #[test]
    fn a_record_becomes_the_contacts_json() {
        let maps: Vec<Map> = vec![
            "Mobile=phone_number".parse().unwrap(),
            "Email=".parse().unwrap(),
        ];
        let mut plan = Plan::new(
            &header(&[
                "Mobile",
                "Email",
                "First Name",
                "Custom_Fields.Visits",
                "use journeys",
            ]),
            &maps,
            Some("+18005551234"),
        )
        .unwrap();
        let cells = b"0415 555 0100a@b.cAda \"A\"3TRUE";
        let spans = [(0, 13), (13, 18), (18, 25), (25, 26), (26, 30)];
        let mut text = Vec::new();
        plan.contact(cells, &spans, false, &mut text).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"phone_number": "0415 555 0100", "First Name": "Ada \"A\"",
                "use_journeys": true, "list_number": "+18005551234", "custom_fields": {"Visits": "3"}})
        );
        assert_eq!(plan.warnings().len(), 1);
        assert!(
            plan.warnings()[0].contains("custom_fields.first_name"),
            "{:?}",
            plan.warnings()
        );
    }

    #[test]
    fn classify_finds_what_needs_escaping_and_non_ascii_bytes() {
        for n in 0..=255u8 {
            for at in 0..20 {
                let mut text = vec![b'a'; 20];
                text[at] = n;
                let escape = n < 0x20 || n == b'"' || n == b'\\';
                assert_eq!(classify(&text), (escape, n >= 0x80), "{n} at {at}");
            }
        }
        assert_eq!(classify(b""), (false, false));
        assert_eq!(classify("Zoë, 0151 2345".as_bytes()), (false, true));
    }

    #[test]
    fn header_problems_are_sentences() {
        let error = Plan::new(&header(&["Mobile", "Name"]), &[], None).unwrap_err();
        assert!(error.contains("--map 'Mobile=phone_number'"), "{error}");
        let error = Plan::new(&header(&["Phone Number", "phone_number"]), &[], None).unwrap_err();
        assert!(error.contains("both name phone_number"), "{error}");
        let maps = vec!["Cell=phone_number".parse().unwrap()];
        let error = Plan::new(&header(&["phone_number"]), &maps, None).unwrap_err();
        assert!(error.contains("does not have"), "{error}");
        let error = "Mobile=phone".parse::<Map>().unwrap_err();
        assert!(error.contains("did you mean phone_number?"), "{error}");
    }
}
