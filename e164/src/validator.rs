//! The validator: libphonenumber's `parse(s, null)` → `isValidNumber` → `format(E164) == s`,
//! reproduced for strict E.164 input over the tables of [`super::metadata`].
//!
//! For `+<digits>` input, libphonenumber's parser (`PhoneNumberUtil.parseHelper`) does:
//! 1. `maybeExtractCountryCode`: the number after the `+` must be longer than 2 digits; the
//!    calling code is the first of its 1-, 2- or 3-digit prefixes that is assigned;
//! 2. the national number must have at least 2 digits;
//! 3. `maybeStripNationalPrefixAndCarrierCode` with the metadata of the calling code's *main*
//!    region, then `testNumberLength`, as `normalize`'s parse does (one implementation,
//!    [`super::national`]): a kept, different result means the E.164 formatting differs from
//!    the input: the candidate is not canonical;
//! 4. leading zeros are kept as `italian_leading_zero`/`number_of_leading_zeros`, so the
//!    national significant number round-trips exactly.
//!
//! Then `getRegionCodeForNumber` (the only region, or the first whose leading digits match
//! or, without leading digits, whose `getNumberType` is not UNKNOWN) and
//! `isValidNumberForRegion` (its `getNumberType` is not UNKNOWN). Every pattern match there is
//! a whole-string match, preceded by the possible-length test of the description.

use super::metadata::{BITMAP_WORDS, Code, Desc, EOI, NONE, Region, SETS, TRANS, ty};
use super::national::{calling_code, has_len, keeps_stripped, strip_national_prefix};

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
    let (code, nsn) = calling_code(digits)?;
    if nsn.len() < 2 {
        return None;
    }
    // parse() would strip a national prefix (or apply a transform rule) and keep the result:
    // the E.164 form of what it parsed is not this text.
    let main = code.regions.first()?;
    let mut transformed = None;
    if let Some(stripped) = strip_national_prefix(code, main, nsn, &mut transformed)
        && keeps_stripped(main, stripped.len())
        && stripped != nsn
    {
        return None;
    }
    let bits = walk(code, nsn);
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
    use super::super::metadata::CODES;
    use super::*;

    #[test]
    fn every_table_loads() {
        for code in CODES.iter() {
            let start_row = (10..20).map(|d| u16_at(TRANS, code.trans + d));
            assert!(start_row.clone().any(|s| s != 0), "{}: dead start", code.cc);
            assert!(
                start_row
                    .clone()
                    .all(|s| (code.trans + 10 * s + 9) * 2 < TRANS.len()),
                "{}",
                code.cc
            );
        }
        assert_eq!(SETS.len() % (8 * BITMAP_WORDS), 0);
        assert_eq!(TRANS.len() % 20, 0);
    }

    #[test]
    fn a_national_prefix_parse_would_strip_makes_a_candidate_non_canonical() {
        // Argentina's transform rule reads `0?(?:(11|…)15)?` at the start of the national
        // number and rewrites "11 15 …" to "9 11 …": libphonenumber calls +54 11 15 1234 5678
        // valid, with the E.164 form +54 9 11 1234 5678, so the first is not canonical.
        assert!(classify("+5491112345678").is_some());
        assert!(classify("+54111512345678").is_none());
        assert!(classify("+5491123456789").is_some());
        // +7 8…: Russia's national prefix 8 is stripped only when what remains still matches.
        assert!(classify("+78005553535").is_some());
    }
}
