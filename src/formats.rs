//! The value formats of rule 7 (SPEC §4): `signup_date`, `ip_address` and `url`.
//!
//! Each check is strict about the spelling (what the SPEC pins down) and hands the rest to a
//! library made for it: calendar arithmetic to `jiff`, addresses to `std::net`, URLs to `url`.

use jiff::civil::DateTime;
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};

/// How far past `now` a `signup_date` may be.
pub const SIGNUP_DATE_TOLERANCE: SignedDuration = SignedDuration::from_secs(5 * 60);

/// The most bytes a `url` may have.
pub const MAX_URL_BYTES: usize = 2048;

/// `0000-01-01T00:00:00Z`, the first instant RFC 3339 can write in UTC.
const EARLIEST_UTC: Timestamp = Timestamp::constant(-62_167_219_200, 0);

/// A parsed RFC 3339 date-time: the instant at nanosecond precision, and whether digits past
/// the nanosecond made it a little later than that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTimeValue {
    /// The instant, fractional seconds truncated to nanoseconds.
    pub at: Timestamp,
    /// Whether a non-zero digit past the ninth fractional digit was dropped.
    pub below_nanosecond: bool,
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`, upper-case `T` and `Z`, a real
/// calendar time, no leap second. `None` when the text is not such a date-time, or when its
/// instant cannot be written back in UTC as RFC 3339 (years 0000 to 9999): `0000-01-01T00:00:00+01:00`
/// is in the year −1 in UTC, `9999-12-31T23:59:59-01:00` in the year 10000.
pub fn parse_rfc3339(s: &str) -> Option<DateTimeValue> {
    let b = s.as_bytes();
    let (head, rest) = (b.get(..19)?, b.get(19..)?);
    let shape_ok = head.iter().enumerate().all(|(i, &c)| match i {
        4 | 7 => c == b'-',
        10 => c == b'T',
        13 | 16 => c == b':',
        _ => c.is_ascii_digit(),
    });
    if !shape_ok {
        return None;
    }
    let num = |from: usize, to: usize| -> i32 {
        head[from..to]
            .iter()
            .fold(0, |acc, &d| acc * 10 + i32::from(d - b'0'))
    };
    let (fraction, offset_text) = split_fraction(rest)?;
    let (nanos, below_nanosecond) = fraction_nanos(fraction);
    let offset = parse_offset(offset_text)?;
    let civil = DateTime::new(
        i16::try_from(num(0, 4)).ok()?,
        i8::try_from(num(5, 7)).ok()?,
        i8::try_from(num(8, 10)).ok()?,
        i8::try_from(num(11, 13)).ok()?,
        i8::try_from(num(14, 16)).ok()?,
        i8::try_from(num(17, 19)).ok()?,
        nanos,
    )
    .ok()?;
    let at = offset.to_timestamp(civil).ok()?;
    // The upper end needs no check: `jiff` holds no instant past 9999-12-30T22:00:00Z.
    if at < EARLIEST_UTC {
        return None;
    }
    Some(DateTimeValue {
        at,
        below_nanosecond,
    })
}

/// Splits `[.digits]rest`; `None` when a `.` has no digit after it.
fn split_fraction(rest: &[u8]) -> Option<(&[u8], &[u8])> {
    let Some(after_dot) = rest.strip_prefix(b".") else {
        return Some((&[], rest));
    };
    let digits = after_dot.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    Some(after_dot.split_at(digits))
}

fn fraction_nanos(fraction: &[u8]) -> (i32, bool) {
    let mut nanos = 0i32;
    for i in 0..9 {
        let digit = fraction.get(i).map_or(0, |d| i32::from(d - b'0'));
        nanos = nanos * 10 + digit;
    }
    let below = fraction.iter().skip(9).any(|&d| d != b'0');
    (nanos, below)
}

fn parse_offset(text: &[u8]) -> Option<Offset> {
    if text == b"Z" {
        return Some(Offset::UTC);
    }
    let [sign, h1, h2, b':', m1, m2] = *text else {
        return None;
    };
    let digit = |c: u8| c.is_ascii_digit().then(|| i32::from(c - b'0'));
    let hours = digit(h1)? * 10 + digit(h2)?;
    let minutes = digit(m1)? * 10 + digit(m2)?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    let seconds = (hours * 60 + minutes) * 60;
    let signed = match sign {
        b'+' => seconds,
        b'-' => -seconds,
        _ => return None,
    };
    Offset::from_seconds(signed).ok()
}

/// Rule 7 for `signup_date`: an RFC 3339 date-time not later than `now` + 5 minutes.
pub fn signup_date_ok(s: &str, now: Timestamp) -> Option<Timestamp> {
    let value = parse_rfc3339(s)?;
    let latest = now
        .checked_add(SIGNUP_DATE_TOLERANCE)
        .unwrap_or(Timestamp::MAX);
    let too_late = value.at > latest || (value.at == latest && value.below_nanosecond);
    (!too_late).then_some(value.at)
}

/// Rule 7 for `ip_address`: IPv4 in dotted-decimal form without leading zeros, or IPv6
/// without a zone index — exactly what `std::net` accepts.
pub fn ip_address_ok(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

/// Rule 7 for `url`: at most 2048 bytes, `http://` or `https://` (any case) followed by an
/// authority, no whitespace, control character or backslash anywhere (the WHATWG parser would
/// silently drop, rewrite or percent-encode them), and a non-empty host. Whitespace and
/// control characters are Unicode's: `White_Space` (space, tab, NBSP, U+2028, U+3000, …) and
/// the `Cc` category (U+0000–U+001F, U+007F–U+009F).
pub fn url_ok(s: &str) -> bool {
    if s.len() > MAX_URL_BYTES {
        return false;
    }
    let starts_with = |prefix: &str| {
        s.get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    if !(starts_with("http://") || starts_with("https://")) {
        return false;
    }
    if s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return false;
    }
    // WHATWG would skip extra slashes and read `https:///path` as host `path`.
    if s.split_once("://")
        .is_some_and(|(_, rest)| rest.starts_with('/'))
    {
        return false;
    }
    url::Url::parse(s)
        .ok()
        .and_then(|url| url.host_str().map(|host| !host.is_empty()))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("test timestamp")
    }

    #[test]
    fn rfc3339_accepts_fractions_and_offsets() {
        let at = |s| parse_rfc3339(s).map(|v| v.at);
        assert_eq!(at("2025-03-15T14:30:00Z"), Some(ts("2025-03-15T14:30:00Z")));
        assert_eq!(
            at("2025-03-15T20:00:00+05:30"),
            Some(ts("2025-03-15T14:30:00Z"))
        );
        assert_eq!(
            at("2025-03-15T06:30:00.5-08:00"),
            Some(ts("2025-03-15T14:30:00.5Z"))
        );
        assert_eq!(
            at("2025-03-15T14:30:00-00:00"),
            Some(ts("2025-03-15T14:30:00Z"))
        );
        assert_eq!(at("2024-02-29T00:00:00Z"), Some(ts("2024-02-29T00:00:00Z")));
    }

    #[test]
    fn rfc3339_rejects_other_spellings_and_impossible_times() {
        for bad in [
            "2025-03-15t14:30:00Z",
            "2025-03-15T14:30:00z",
            "2025-03-15 14:30:00Z",
            "2025-03-15T14:30:00",
            "2025-03-15T14:30Z",
            "2025-03-15T14:30:00.Z",
            "2023-02-29T00:00:00Z",
            "2025-04-31T00:00:00Z",
            "2025-03-15T24:00:00Z",
            "2016-12-31T23:59:60Z",
            "2025-03-15T14:30:00+24:00",
            "2025-03-15T14:30:00+05:60",
            "2025-03-15T14:30:00+0530",
            "2025-03-15",
            "+2025-03-15T14:30:00Z",
            "２025-03-15T14:30:00Z",
            "2025-03-15T14:30:00Z ",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn signup_date_may_be_at_most_five_minutes_ahead() {
        let now = ts("2025-06-01T00:00:00Z");
        assert!(signup_date_ok("2025-06-01T00:05:00Z", now).is_some());
        assert!(signup_date_ok("2025-06-01T00:05:00.000000000Z", now).is_some());
        assert!(signup_date_ok("2025-06-01T00:05:00.000001Z", now).is_none());
        assert!(signup_date_ok("2025-06-01T00:05:00.0000000001Z", now).is_none());
        assert!(signup_date_ok("2025-06-01T00:05:00.0000000000Z", now).is_some());
        assert!(signup_date_ok("2025-06-01T05:35:00+05:30", now).is_some());
        assert!(signup_date_ok("2025-06-01T05:35:01+05:30", now).is_none());
        assert!(signup_date_ok("9999-12-31T23:59:59-23:59", now).is_none());
    }

    #[test]
    fn date_times_outside_the_years_0000_to_9999_in_utc_are_refused() {
        let at = |s| parse_rfc3339(s).map(|v| v.at);
        assert_eq!(at("0000-01-01T00:00:00Z"), Some(EARLIEST_UTC));
        assert_eq!(at("0000-01-01T05:00:00+05:00"), Some(EARLIEST_UTC));
        assert_eq!(at("0000-01-01T00:00:00-00:00"), Some(EARLIEST_UTC));
        assert!(at("0000-01-01T00:00:00-01:00").is_some());
        for outside in [
            "0000-01-01T00:00:00+23:59",
            "0000-01-01T00:00:00+00:01",
            "0000-01-01T04:59:59.999999999+05:00",
            "9999-12-31T23:59:59-00:01",
        ] {
            assert_eq!(at(outside), None, "{outside}");
        }
        let now = ts("2025-06-01T00:00:00Z");
        assert!(signup_date_ok("0000-01-01T00:00:00+23:59", now).is_none());
        assert!(signup_date_ok("0000-01-01T00:00:00Z", now).is_some());
    }

    #[test]
    fn ip_addresses_follow_std() {
        assert!(ip_address_ok("198.51.100.17"));
        assert!(ip_address_ok("2001:db8::1"));
        assert!(ip_address_ok("::ffff:192.0.2.1"));
        assert!(!ip_address_ok("198.051.100.17"));
        assert!(!ip_address_ok("256.1.1.1"));
        assert!(!ip_address_ok("fe80::1%eth0"));
        assert!(!ip_address_ok(" 1.2.3.4"));
        assert!(!ip_address_ok("1.2.3"));
    }

    #[test]
    fn urls_must_be_absolute_http_with_a_host() {
        assert!(url_ok("https://example.com/signup?x=1"));
        assert!(url_ok("HTTP://EXAMPLE.COM"));
        assert!(url_ok("http://192.0.2.1:8080/"));
        assert!(url_ok("https://bücher.example/café?q=\u{a1}"));
        for bad in [
            "http://",
            "https:///path",
            "http:example.com",
            "ftp://example.com",
            "/relative",
            "example.com",
            " http://example.com",
            "http://exa mple.com",
            "http://example.com/\n",
            "http://:80/",
            "https:///path",
            "http://\\example.com",
            "http://example.com\\path",
            "http://example.com/\u{85}",
            "http://example.com/\u{80}",
            "http://example.com/\u{9f}",
            "http://exa\u{a0}mple.com",
            "http://example.com/a\u{2028}",
            "http://example.com/\u{3000}",
            "http://example.com/\u{1680}",
            "http://example.com/\u{202f}",
        ] {
            assert!(!url_ok(bad), "{bad}");
        }
        let long = |n: usize| format!("http://a.com/{}", "x".repeat(n - 13));
        assert!(url_ok(&long(2048)));
        assert!(!url_ok(&long(2049)));
    }
}
