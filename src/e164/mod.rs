//! The phone rule of SPEC §6: is a string a valid, canonical E.164 number?
//!
//! The rules never look inside this module: they call [`is_valid`] and nothing else, so the
//! implementation behind it can change without touching them.

/// Rule 1 of SPEC §6: `+` then 2 to 15 ASCII digits, the first not `0`, nothing else.
pub fn has_e164_syntax(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Whether `s` is a valid E.164 number in the sense of SPEC §6: strict syntax, accepted and
/// called valid by libphonenumber's rules, and already in canonical E.164 form.
pub fn is_valid(s: &str) -> bool {
    if !has_e164_syntax(s) {
        return false;
    }
    match phonenumber::parse(None, s) {
        Ok(number) => {
            number.is_valid() && number.format().mode(phonenumber::Mode::E164).to_string() == s
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_requires_plus_and_2_to_15_digits_not_starting_with_zero() {
        assert!(has_e164_syntax("+12"));
        assert!(has_e164_syntax("+123456789012345"));
        assert!(!has_e164_syntax("+1"));
        assert!(!has_e164_syntax("+1234567890123456"));
        assert!(!has_e164_syntax("+0123"));
        assert!(!has_e164_syntax("14155550000"));
        assert!(!has_e164_syntax("+1 415 555 0000"));
        assert!(!has_e164_syntax("+１４１５"));
    }

    #[test]
    fn valid_numbers_are_accepted_and_non_canonical_ones_rejected() {
        assert!(is_valid("+14155559876"));
        assert!(is_valid("+18005551234"));
        assert!(is_valid("+442079460000"));
        assert!(!is_valid("+200237082111"));
        assert!(!is_valid("+11234567890"));
        assert!(!is_valid(" +14155559876"));
    }
}
