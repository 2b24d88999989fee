//! The validator: libphonenumber's `parse(s, null)` → `isValidNumber` → `format(E164) == s`,
//! reproduced for strict E.164 input over the tables of [`super::metadata`].
//!
//! For `+<digits>` input, libphonenumber's parser (`PhoneNumberUtil.parseHelper`) does:
//! 1. `maybeExtractCountryCode`: the number after the `+` must be longer than 2 digits; the
//!    calling code is the first of its 1-, 2- or 3-digit prefixes that is assigned;
//! 2. the national number must have at least 2 digits;
//! 3. `maybeStripNationalPrefixAndCarrierCode` with the metadata of the calling code's *main*
//!    region: if its national prefix for parsing matches at the start (leftmost-first,
//!    anchored), the prefix is removed (or the transform rule applied), unless the number
//!    matched the general pattern before and the result does not; the result is kept only if
//!    `testNumberLength` (general description) is not TOO_SHORT, IS_POSSIBLE_LOCAL_ONLY or
//!    INVALID_LENGTH. A kept, different result means the E.164 formatting differs from the
//!    input: the candidate is not canonical;
//! 4. leading zeros are kept as `italian_leading_zero`/`number_of_leading_zeros`, so the
//!    national significant number round-trips exactly.
//!
//! Then `getRegionCodeForNumber` (the only region, or the first whose leading digits match
//! or, without leading digits, whose `getNumberType` is not UNKNOWN) and
//! `isValidNumberForRegion` (its `getNumberType` is not UNKNOWN). Every pattern match there is
//! a whole-string match, preceded by the possible-length test of the description.

use std::sync::OnceLock;

use regex_automata::dfa::Automaton;
use regex_automata::dfa::dense::DFA;
use regex_automata::util::primitives::NonMaxUsize;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, meta};

use super::metadata::{
    BITMAP_WORDS, CODE_COUNT, CODE_INDEX, CODES, Code, DFA_BLOB, Desc, EOI, MAX_GROUPS,
    MAX_TRANSFORMED, NONE, Region, SETS, TRANS, Tok, ty,
};

/// The type of a valid number, as libphonenumber's `getNumberType` tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NumberType {
    /// A fixed-line (landline) number.
    FixedLine,
    /// A mobile number.
    Mobile,
    /// A number that may be fixed line or mobile (the region's patterns do not tell them
    /// apart, as in the NANP countries).
    FixedLineOrMobile,
    /// A toll-free number.
    TollFree,
    /// A premium-rate number.
    PremiumRate,
    /// A shared-cost number (the cost is split between caller and recipient).
    SharedCost,
    /// A voice-over-IP number.
    Voip,
    /// A personal number (associated with a person, routed to different lines).
    PersonalNumber,
    /// A pager number.
    Pager,
    /// A universal access number (a company number routed to its offices).
    Uan,
    /// A voicemail access number.
    Voicemail,
    /// A number of no known type (never the type of a valid number).
    Unknown,
}

impl NumberType {
    /// The snake-case name: `fixed_line`, `mobile`, `fixed_line_or_mobile`, `toll_free`,
    /// `premium_rate`, `shared_cost`, `voip`, `personal_number`, `pager`, `uan`, `voicemail`,
    /// `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            NumberType::FixedLine => "fixed_line",
            NumberType::Mobile => "mobile",
            NumberType::FixedLineOrMobile => "fixed_line_or_mobile",
            NumberType::TollFree => "toll_free",
            NumberType::PremiumRate => "premium_rate",
            NumberType::SharedCost => "shared_cost",
            NumberType::Voip => "voip",
            NumberType::PersonalNumber => "personal_number",
            NumberType::Pager => "pager",
            NumberType::Uan => "uan",
            NumberType::Voicemail => "voicemail",
            NumberType::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for NumberType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What libphonenumber says about a valid E.164 number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NumberInfo {
    /// The country calling code (1 for "+1…").
    pub country_code: u16,
    /// The region code (ISO 3166-1 alpha-2 such as "US", "CA", "GB", or "001" for the
    /// non-geographic entities such as +800), as `getRegionCodeForNumber` gives it.
    pub region: &'static str,
    /// The number type, as `getNumberType` gives it (never [`NumberType::Unknown`]).
    pub number_type: NumberType,
}

/// Write-once caches, one slot per calling code: the national-prefix DFA (a zero-copy view
/// into [`DFA_BLOB`]) and the capture-aware regex of a prefix with a transform rule.
static NPFP_DFA: [OnceLock<Option<DFA<&'static [u32]>>>; CODE_COUNT] =
    [const { OnceLock::new() }; CODE_COUNT];
static CAPTURES: [OnceLock<Option<meta::Regex>>; CODE_COUNT] =
    [const { OnceLock::new() }; CODE_COUNT];

fn npfp_dfa(index: usize, range: (usize, usize)) -> Option<&'static DFA<&'static [u32]>> {
    NPFP_DFA
        .get(index)?
        .get_or_init(|| {
            let bytes = DFA_BLOB.bytes.get(range.0..range.0.checked_add(range.1)?)?;
            DFA::from_bytes(bytes).ok().map(|(dfa, _)| dfa)
        })
        .as_ref()
}

fn captures_regex(index: usize, pattern: &str) -> Option<&'static meta::Regex> {
    CAPTURES
        .get(index)?
        .get_or_init(|| {
            meta::Regex::builder()
                .syntax(syntax::Config::new().unicode(false).utf8(false))
                .build(pattern)
                .ok()
        })
        .as_ref()
}

pub(crate) fn u16_at(bytes: &[u8], index: usize) -> usize {
    index
        .checked_mul(2)
        .and_then(|i| bytes.get(i..i.checked_add(2)?))
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .map_or(0, |b| usize::from(u16::from_le_bytes(b)))
}

/// The set of patterns of a calling code's DFA that match the whole national number (an id
/// in [`SETS`]).
#[derive(Clone, Copy)]
pub(crate) struct Bits {
    set: usize,
}

impl Bits {
    fn word(&self, w: usize) -> u64 {
        let start = (self.set * BITMAP_WORDS + w) * 8;
        SETS.get(start..start + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_le_bytes)
    }

    pub(crate) fn full(&self, id: u16) -> bool {
        let id = usize::from(id);
        id != usize::from(NONE) && self.word(id / 64) & (1 << (id % 64)) != 0
    }

    /// Whether any pattern of `mask` matches.
    fn any(&self, mask: &[u64]) -> bool {
        mask.iter().enumerate().any(|(w, m)| self.word(w) & m != 0)
    }
}

/// Runs the calling code's DFA over the digits `hay`: the patterns that match it all.
pub(crate) fn walk(code: &Code, hay: &[u8]) -> Bits {
    let mut state = 1;
    for &b in hay {
        let digit = usize::from(b.wrapping_sub(b'0'));
        if digit > 9 {
            return Bits { set: 0 };
        }
        state = u16_at(TRANS, code.trans + state * 10 + digit);
        if state == 0 {
            return Bits { set: 0 };
        }
    }
    Bits {
        set: u16_at(EOI, code.eoi + state),
    }
}

fn has_len(mask: u32, len: usize) -> bool {
    u32::try_from(len)
        .ok()
        .and_then(|l| mask.checked_shr(l))
        .is_some_and(|m| m & 1 != 0)
}

/// `isNumberMatchingDesc`: the possible lengths (when listed), then the whole-string match.
fn matches(desc: &Desc, len: usize, bits: &Bits) -> bool {
    (desc.lengths == 0 || has_len(desc.lengths, len)) && bits.full(desc.pattern)
}

fn matches_type(region: &Region, t: usize, len: usize, bits: &Bits) -> bool {
    region
        .types
        .get(t)
        .and_then(Option::as_ref)
        .is_some_and(|d| matches(d, len, bits))
}

/// `getNumberTypeHelper`.
fn number_type(region: &Region, len: usize, bits: &Bits) -> NumberType {
    if !matches(&region.general, len, bits) {
        return NumberType::Unknown;
    }
    const ORDER: [(usize, NumberType); 8] = [
        (ty::PREMIUM_RATE, NumberType::PremiumRate),
        (ty::TOLL_FREE, NumberType::TollFree),
        (ty::SHARED_COST, NumberType::SharedCost),
        (ty::VOIP, NumberType::Voip),
        (ty::PERSONAL_NUMBER, NumberType::PersonalNumber),
        (ty::PAGER, NumberType::Pager),
        (ty::UAN, NumberType::Uan),
        (ty::VOICEMAIL, NumberType::Voicemail),
    ];
    for (t, kind) in ORDER {
        if matches_type(region, t, len, bits) {
            return kind;
        }
    }
    if matches_type(region, ty::FIXED_LINE, len, bits) {
        if region.same_mobile_and_fixed_line_pattern || matches_type(region, ty::MOBILE, len, bits)
        {
            return NumberType::FixedLineOrMobile;
        }
        return NumberType::FixedLine;
    }
    if !region.same_mobile_and_fixed_line_pattern && matches_type(region, ty::MOBILE, len, bits) {
        return NumberType::Mobile;
    }
    NumberType::Unknown
}

/// A small stack buffer for a transformed national number.
struct Buf {
    data: [u8; MAX_TRANSFORMED],
    len: usize,
}

impl Buf {
    fn push(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.len.checked_add(bytes.len())?;
        self.data.get_mut(self.len..end)?.copy_from_slice(bytes);
        self.len = end;
        Some(())
    }

    fn as_slice(&self) -> &[u8] {
        self.data.get(..self.len).unwrap_or(&[])
    }
}

/// `testNumberLength` against the general description, reduced to what `parse` asks: is the
/// result neither TOO_SHORT, nor IS_POSSIBLE_LOCAL_ONLY, nor INVALID_LENGTH?
fn length_keeps_stripped(general: &Desc, len: usize) -> bool {
    if has_len(general.local, len) {
        return false;
    }
    let max = 31usize.saturating_sub(general.lengths.leading_zeros() as usize);
    has_len(general.lengths, len) || len > max
}

/// Does `parse` rewrite the national number `nsn` (national prefix stripped or transformed)?
/// `None` when the answer cannot be computed (never expected; treated as invalid).
fn parse_rewrites(index: usize, code: &Code, nsn: &[u8], bits: &Bits) -> Option<bool> {
    let Some(npfp) = &code.npfp else {
        return Some(false);
    };
    if !bits.full(npfp.bit) {
        return Some(false); // prefix_matcher.lookingAt() fails
    }
    let main = code.regions.first()?;
    let viable_original = bits.full(main.general.pattern);
    let mut buf = Buf {
        data: [0; MAX_TRANSFORMED],
        len: 0,
    };
    let candidate: &[u8] = match npfp.transform {
        None => {
            let input = Input::new(nsn).anchored(Anchored::Yes);
            let end = npfp_dfa(index, npfp.dfa)?
                .try_search_fwd(&input)
                .ok()??
                .offset();
            nsn.get(end..)?
        }
        Some(rule) => {
            let re = captures_regex(index, npfp.pattern)?;
            let mut slots = [None::<NonMaxUsize>; 2 * (MAX_GROUPS + 1)];
            let input = Input::new(nsn).anchored(Anchored::Yes);
            re.search_slots(&input, &mut slots)?;
            let span = |g: usize| -> Option<(usize, usize)> {
                let start = slots.get(2 * g).copied().flatten()?.get();
                let end = slots.get(2 * g + 1).copied().flatten()?.get();
                Some((start, end))
            };
            let (_, end) = span(0)?;
            if span(npfp.groups).is_none() {
                // The last group did not participate: plain removal of the prefix.
                nsn.get(end..)?
            } else {
                for tok in rule {
                    match tok {
                        Tok::Lit(l) => buf.push(l.as_bytes())?,
                        Tok::Group(g) => {
                            if let Some((s, e)) = span(*g) {
                                buf.push(nsn.get(s..e)?)?;
                            }
                        }
                    }
                }
                buf.push(nsn.get(end..)?)?;
                buf.as_slice()
            }
        }
    };
    if viable_original && !walk(code, candidate).full(main.general.pattern) {
        return Some(false);
    }
    if !length_keeps_stripped(&main.general, candidate.len()) {
        return Some(false);
    }
    Some(candidate != nsn)
}

/// The whole decision; `None` for an invalid or non-canonical candidate.
pub(crate) fn classify(s: &str) -> Option<NumberInfo> {
    let bytes = s.as_bytes();
    let (&plus, digits) = bytes.split_first()?;
    if plus != b'+'
        || !(2..=15).contains(&digits.len())
        || !digits.iter().all(u8::is_ascii_digit)
        || digits.first() == Some(&b'0')
        || digits.len() <= 2
    {
        return None;
    }
    // extractCountryCode: the first assigned 1-, 2- or 3-digit prefix.
    let mut cc = 0usize;
    let mut found = None;
    for (i, &d) in digits.iter().take(3).enumerate() {
        cc = cc * 10 + usize::from(d - b'0');
        let slot = *CODE_INDEX.get(cc)?;
        if slot != 0 {
            found = Some((usize::from(slot) - 1, i + 1));
            break;
        }
    }
    let (index, cc_len) = found?;
    let code = CODES.get(index)?;
    let nsn = digits.get(cc_len..)?;
    if nsn.len() < 2 {
        return None;
    }
    let bits = walk(code, nsn);
    if parse_rewrites(index, code, nsn, &bits)? {
        return None;
    }
    classify_bits(code, nsn.len(), &bits)
}

/// `isValidNumber` of a parsed number: its calling code and national significant number.
pub(crate) fn classify_national(code: &Code, nsn: &[u8]) -> Option<NumberInfo> {
    classify_bits(code, nsn.len(), &walk(code, nsn))
}

/// `getRegionCodeForNumber`, then `isValidNumberForRegion`, from the DFA's verdict.
fn classify_bits(code: &Code, len: usize, bits: &Bits) -> Option<NumberInfo> {
    let bits = *bits;
    if !bits.any(code.general_mask) {
        return None; // no region's general pattern matches: UNKNOWN whatever the region
    }
    let (region, number_type) = match code.regions {
        [only] => (only, number_type(only, len, &bits)),
        regions => regions.iter().find_map(|r| {
            // getRegionCodeForNumberFromRegionList: leading digits, else full validation.
            if r.leading_digits != NONE {
                bits.full(r.leading_digits)
                    .then(|| (r, number_type(r, len, &bits)))
            } else {
                Some((r, number_type(r, len, &bits))).filter(|(_, t)| *t != NumberType::Unknown)
            }
        })?,
    };
    match number_type {
        NumberType::Unknown => None,
        number_type => Some(NumberInfo {
            country_code: code.cc,
            region: region.id,
            number_type,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_and_dfa_loads() {
        for (i, code) in CODES.iter().enumerate() {
            let start_row = (10..20).map(|d| u16_at(TRANS, code.trans + d));
            assert!(start_row.clone().any(|s| s != 0), "{}: dead start", code.cc);
            assert!(
                start_row
                    .clone()
                    .all(|s| (code.trans + 10 * s + 9) * 2 < TRANS.len()),
                "{}",
                code.cc
            );
            if let Some(n) = &code.npfp {
                assert!(npfp_dfa(i, n.dfa).is_some(), "{}", code.cc);
                if n.transform.is_some() {
                    assert!(captures_regex(i, n.pattern).is_some(), "{}", n.pattern);
                }
            }
        }
        assert_eq!(SETS.len() % (8 * BITMAP_WORDS), 0);
        assert_eq!(TRANS.len() % 20, 0);
    }

    #[test]
    fn length_rules() {
        let general = Desc {
            pattern: 0,
            lengths: (1 << 7) | (1 << 10),
            local: 1 << 6,
        };
        assert!(length_keeps_stripped(&general, 7));
        assert!(length_keeps_stripped(&general, 10));
        assert!(length_keeps_stripped(&general, 11)); // TOO_LONG keeps it
        assert!(!length_keeps_stripped(&general, 6)); // local only
        assert!(!length_keeps_stripped(&general, 8)); // INVALID_LENGTH
        assert!(!length_keeps_stripped(&general, 5)); // TOO_SHORT
        assert!(!has_len(u32::MAX, 40));
    }
}
