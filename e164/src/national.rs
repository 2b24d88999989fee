//! The steps of libphonenumber's `parse` that read a number's digits, one implementation each,
//! for the strict validator ([`super::validator`]) and for `normalize`
//! ([`super::normalize`]): `extractCountryCode`, `maybeStripNationalPrefixAndCarrierCode` (with
//! its transform rule) and `testNumberLength`. Everything they read was compiled by `build.rs`
//! ([`super::metadata`]): nothing is compiled, parsed or allocated at run time.

use super::metadata::{CODE_INDEX, CODES, Code, MAX_GROUPS, Node, PREFIX, PREFIX_ROW, Region};
use super::metadata::{Tok, Transform};
use super::validator::{u16_at, walk};

/// `MAX_INPUT_STRING_LENGTH`: longer texts (in characters) are not parsed.
pub(crate) const MAX_INPUT_CHARS: usize = 250;
/// Room for the digits of a text (one digit at most per character), or for a number rewritten
/// by a transform rule (its literal digits and groups, at most the number twice over).
const DIGITS: usize = MAX_INPUT_CHARS + 8;

/// Bytes in a stack buffer of `N`; what does not fit is dropped (each buffer is sized so that
/// nothing is).
#[derive(Clone, Copy)]
pub(crate) struct Buf<const N: usize> {
    data: [u8; N],
    pub(crate) len: usize,
}

/// The digits of a text, or of a number rewritten by a transform rule.
pub(crate) type Digits = Buf<DIGITS>;

impl<const N: usize> Buf<N> {
    pub(crate) fn new() -> Buf<N> {
        Buf {
            data: [0; N],
            len: 0,
        }
    }

    /// A buffer holding `bytes` (what fits of them).
    pub(crate) fn of(bytes: &[u8]) -> Buf<N> {
        let mut buf = Buf::new();
        let len = bytes.len().min(N);
        if let (Some(to), Some(from)) = (buf.data.get_mut(..len), bytes.get(..len)) {
            to.copy_from_slice(from);
            buf.len = len;
        }
        buf
    }

    pub(crate) fn push(&mut self, b: u8) {
        if let Some(slot) = self.data.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    pub(crate) fn push_slice(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push(b);
        }
    }

    /// Appends the ASCII digits of `bytes` (the only ASCII decimal digits are 0-9).
    pub(crate) fn push_ascii_digits(&mut self, bytes: &[u8]) {
        let mut len = self.len;
        for &b in bytes {
            if b.is_ascii_digit()
                && let Some(slot) = self.data.get_mut(len)
            {
                *slot = b;
                len += 1;
            }
        }
        self.len = len;
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        self.data.get(..self.len).unwrap_or(&[])
    }

    /// The whole array (zeros past the bytes) and the number of bytes.
    pub(crate) fn into_parts(self) -> ([u8; N], usize) {
        (self.data, self.len)
    }
}

/// `extractCountryCode`: the first assigned 1-, 2- or 3-digit prefix (none starts with 0), and
/// the digits after it.
pub(crate) fn calling_code(digits: &[u8]) -> Option<(&'static Code, &[u8])> {
    if digits.first() == Some(&b'0') {
        return None;
    }
    let mut cc = 0usize;
    for (i, &d) in digits.iter().take(3).enumerate() {
        let digit = d.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        cc = cc * 10 + usize::from(digit);
        let slot = usize::from(*CODE_INDEX.get(cc)?);
        if slot != 0 {
            let code = CODES.get(slot - 1)?;
            return Some((code, digits.get(i + 1..)?));
        }
    }
    None
}

/// A calling code's decimal digits and their count (calling codes are 1 to 999: `build.rs`
/// checks).
pub(crate) fn cc_digits(cc: u16) -> ([u8; 3], usize) {
    let [a, b, c] = [cc / 100 % 10, cc / 10 % 10, cc % 10].map(|d| b'0' + d as u8);
    match cc {
        0..=9 => ([c, 0, 0], 1),
        10..=99 => ([b, c, 0], 2),
        _ => ([a, b, c], 3),
    }
}

/// `testNumberLength` against a region's general description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Length {
    Possible,
    LocalOnly,
    TooShort,
    TooLong,
    Invalid,
}

pub(crate) fn has_len(mask: u32, len: usize) -> bool {
    u32::try_from(len)
        .ok()
        .and_then(|l| mask.checked_shr(l))
        .is_some_and(|m| m & 1 != 0)
}

pub(crate) fn test_length(meta: &Region, len: usize) -> Length {
    if has_len(meta.general.local, len) {
        return Length::LocalOnly;
    }
    let lengths = meta.general.lengths;
    if lengths == 0 {
        return Length::Invalid;
    }
    let min = lengths.trailing_zeros() as usize;
    let max = 31 - lengths.leading_zeros() as usize;
    if len == min {
        Length::Possible
    } else if len < min {
        Length::TooShort
    } else if len > max {
        Length::TooLong
    } else if has_len(lengths, len) {
        Length::Possible
    } else {
        Length::Invalid
    }
}

/// Whether `parse` keeps a number stripped of its national prefix: `testNumberLength` is not
/// TOO_SHORT, IS_POSSIBLE_LOCAL_ONLY or INVALID_LENGTH (it could be a short number).
pub(crate) fn keeps_stripped(meta: &Region, len: usize) -> bool {
    !matches!(
        test_length(meta, len),
        Length::TooShort | Length::LocalOnly | Length::Invalid
    )
}

/// The end of the leftmost-first match of a prefix pattern at the start of `digits` (Python's
/// `re.match`), run on the pattern's compact DFA at `table` in [`PREFIX`]: the last position
/// where the DFA says a match ends, before it dies.
pub(crate) fn prefix_match(table: u32, digits: &[u8]) -> Option<usize> {
    let base = usize::try_from(table).ok()?;
    let cell = |state: usize, k: usize| u16_at(PREFIX, base + state * PREFIX_ROW + k);
    let mut state = 1;
    let mut end = None;
    for (i, &b) in digits.iter().enumerate() {
        if cell(state, 10) != 0 {
            end = Some(i);
        }
        let digit = usize::from(b.wrapping_sub(b'0'));
        if digit > 9 {
            return end;
        }
        state = cell(state, digit);
        if state == 0 {
            return end;
        }
    }
    if cell(state, 11) != 0 {
        end = Some(digits.len());
    }
    end
}

/// `maybeStripNationalPrefixAndCarrierCode` with the metadata of `meta` (a region of `code`):
/// the number without its national prefix, or rewritten by the region's transform rule (into
/// `out`, created then); `None` when nothing is stripped (no prefix, or the number matched the
/// region's general pattern and would no longer).
pub(crate) fn strip_national_prefix<'a>(
    code: &Code,
    meta: &Region,
    number: &'a [u8],
    out: &'a mut Option<Digits>,
) -> Option<&'a [u8]> {
    if number.is_empty() {
        return None;
    }
    let end = prefix_match(meta.npfp_table?, number)?;
    let stripped: &'a [u8] = match meta.transform {
        None => number.get(end..)?,
        Some(transform) => {
            let Some(captures) = transform.captures(number) else {
                debug_assert!(
                    false,
                    "the prefix DFA matched, the transform pattern did not"
                );
                return None;
            };
            debug_assert_eq!(
                captures.end, end,
                "the two compilations of one pattern agree"
            );
            match captures.group(transform.groups) {
                // The last group did not take part: the prefix is removed.
                None => number.get(captures.end..)?,
                Some(_) => {
                    let out = out.insert(Digits::new());
                    for tok in transform.rule {
                        match tok {
                            Tok::Lit(l) => out.push_slice(l.as_bytes()),
                            Tok::Group(g) => {
                                if let Some((s, e)) = captures.group(*g) {
                                    out.push_slice(number.get(s..e)?);
                                }
                            }
                        }
                    }
                    out.push_slice(number.get(captures.end..)?);
                    let out: &'a Digits = out;
                    out.as_slice()
                }
            }
        }
    };
    let general = |d: &[u8]| walk(code, d).full(meta.general.pattern);
    if general(number) && !general(stripped) {
        return None;
    }
    Some(stripped)
}

/// The match of a national prefix pattern with a transform rule: where it ends and where each
/// capture group took part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Captures {
    pub(crate) end: usize,
    spans: [Option<(usize, usize)>; MAX_GROUPS + 1],
}

impl Captures {
    pub(crate) fn group(&self, g: usize) -> Option<(usize, usize)> {
        self.spans.get(g).copied().flatten()
    }
}

impl Transform {
    /// `re.match` of the pattern at the start of `digits`, with its groups: the first match in
    /// the order a backtracking engine (Python's `re`, Java's `java.util.regex`) tries the
    /// alternatives and repetitions, which is the order `regex-automata`'s leftmost-first
    /// engines report (the tests compare them).
    pub(crate) fn captures(&self, digits: &[u8]) -> Option<Captures> {
        let mut m = Backtrack {
            hay: digits,
            spans: [None; MAX_GROUPS + 1],
        };
        let mut found = None;
        m.run(self.root, 0, &mut |m: &mut Backtrack<'_>, end| {
            let mut spans = m.spans;
            spans[0] = Some((0, end));
            found = Some(Captures { end, spans });
            true
        });
        found
    }
}

/// A backtracking matcher over a pattern of [`Node`]s (digits only), as `build.rs` lowered it
/// from the metadata's text. Each step calls the continuation `k` with the position after it;
/// the first continuation that succeeds ends the search. `build.rs` checks that no repeated
/// sub-pattern matches the empty string, so every repetition consumes input and the search
/// ends.
struct Backtrack<'h> {
    hay: &'h [u8],
    spans: [Option<(usize, usize)>; MAX_GROUPS + 1],
}

type Next<'k, 'h> = &'k mut dyn FnMut(&mut Backtrack<'h>, usize) -> bool;

impl<'h> Backtrack<'h> {
    fn run(&mut self, node: &'static Node, at: usize, k: Next<'_, 'h>) -> bool {
        match node {
            Node::Digit(mask) => match self.hay.get(at) {
                Some(&b) if b.is_ascii_digit() && (mask >> (b - b'0')) & 1 != 0 => k(self, at + 1),
                _ => false,
            },
            Node::End => at == self.hay.len() && k(self, at),
            Node::Cat(nodes) => self.cat(nodes, at, k),
            Node::Alt(nodes) => nodes.iter().any(|n| self.run(n, at, k)),
            Node::Rep {
                min,
                max,
                greedy,
                sub,
            } => self.rep(sub, (*min, *max, *greedy), 0, at, k),
            Node::Group(g, sub) => {
                let g = *g;
                let saved = self.spans.get(g).copied().flatten();
                let found = self.run(sub, at, &mut |m: &mut Backtrack<'h>, end| {
                    let before = m.spans.get(g).copied().flatten();
                    m.set(g, Some((at, end)));
                    k(m, end) || {
                        m.set(g, before);
                        false
                    }
                });
                if !found {
                    self.set(g, saved);
                }
                found
            }
        }
    }

    fn set(&mut self, g: usize, span: Option<(usize, usize)>) {
        if let Some(slot) = self.spans.get_mut(g) {
            *slot = span;
        }
    }

    fn cat(&mut self, nodes: &'static [Node], at: usize, k: Next<'_, 'h>) -> bool {
        match nodes.split_first() {
            None => k(self, at),
            Some((first, rest)) => self.run(first, at, &mut |m: &mut Backtrack<'h>, next| {
                m.cat(rest, next, k)
            }),
        }
    }

    /// The `count`-th and later repetitions of `sub` (`min`, `max`, greedy), then `k`.
    fn rep(
        &mut self,
        sub: &'static Node,
        bounds: (u32, u32, bool),
        count: u32,
        at: usize,
        k: Next<'_, 'h>,
    ) -> bool {
        let (min, max, greedy) = bounds;
        if greedy {
            (count < max
                && self.run(sub, at, &mut |m: &mut Backtrack<'h>, next| {
                    m.rep(sub, bounds, count + 1, next, k)
                }))
                || (count >= min && k(self, at))
        } else {
            (count >= min && k(self, at))
                || (count < max
                    && self.run(sub, at, &mut |m: &mut Backtrack<'h>, next| {
                        m.rep(sub, bounds, count + 1, next, k)
                    }))
        }
    }
}
