#!/usr/bin/env python3
"""Generate the differential corpus of `e164::normalize` (SPEC §6a), with the Python port of
libphonenumber (`phonenumbers`, the version given on the command line) as the oracle.

Usage:
    pip install phonenumbers==9.0.43
    python3 tools/e164/gen_normalize_corpus.py 9.0.43 [OUT]
        # default OUT: e164/tests/data/normalize_corpus.tsv.gz

The first line of the (gzip-compressed, UTF-8) output names the oracle and what it ran on,

    # phonenumbers VERSION; Python X.Y.Z; Unicode A.B.C

(the Unicode version is Python's `unicodedata.unidata_version`: the oracle's digits, letters
and case mappings are those of that version, and `e164::UNICODE_VERSION` must be the same; the
differential test checks it); every other line is

    REGION<TAB>TEXT<TAB>RESULT

where REGION is the default region handed to `parse` (a supported CLDR code, or `ZZ`), TEXT the
input (never a tab, CR or LF) and RESULT one of

    +E164                    parse succeeded, is_valid_number holds: format_number(E164)
    invalid:REASON           parse succeeded, the number is not valid; REASON is
                             is_possible_number_with_reason: IS_POSSIBLE (possible but not
                             valid), IS_POSSIBLE_LOCAL_ONLY, INVALID_COUNTRY_CODE, TOO_SHORT,
                             INVALID_LENGTH or TOO_LONG
    error:KIND               parse raised NumberParseException: INVALID_COUNTRY_CODE,
                             NOT_A_NUMBER, TOO_SHORT_AFTER_IDD, TOO_SHORT_NSN or TOO_LONG

The inputs are what people type: national, international and out-of-country dialling forms
(from every other region's international prefix), RFC 3966 URIs with and without
phone-context, numbers decorated with spaces, dots, dashes, slashes and brackets, extensions in
their many spellings, carrier codes, full-width, Arabic-Indic and other Unicode digits, keypad
letters, numbers inside surrounding text, wrong default regions, random digit strings and
single-digit edits; and the characters where the answer depends on Python's Unicode data:
every character outside ASCII that `re.IGNORECASE` matches with an ASCII letter (the Turkish
`ı` and `İ`, `ſ`, the Kelvin sign) or with a letter of an extension label (`доб`, `ｅｘｔｎ`),
in extension labels, keypad letters and trailing text; every decimal digit of every script;
the first and last character of every run of letters and numbers (Python's `isalnum`) and of
every run between them; and the digits and letters assigned in Unicode 15 and 16, which the
oracle's Python may not know. The output is deterministic (fixed seed, no set iteration order, gzip
mtime 0).
"""
import gzip
import io
import os
import platform
import random
import re
import string
import sys
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE, ValidationResult

SEED = 20261127
DESC_FIELDS = ["fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "voip",
               "personal_number", "pager", "uan", "voicemail"]
ERROR_KINDS = {
    NumberParseException.INVALID_COUNTRY_CODE: "INVALID_COUNTRY_CODE",
    NumberParseException.NOT_A_NUMBER: "NOT_A_NUMBER",
    NumberParseException.TOO_SHORT_AFTER_IDD: "TOO_SHORT_AFTER_IDD",
    NumberParseException.TOO_SHORT_NSN: "TOO_SHORT_NSN",
    NumberParseException.TOO_LONG: "TOO_LONG",
}
REASONS = {
    ValidationResult.IS_POSSIBLE: "IS_POSSIBLE",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "IS_POSSIBLE_LOCAL_ONLY",
    ValidationResult.INVALID_COUNTRY_CODE: "INVALID_COUNTRY_CODE",
    ValidationResult.TOO_SHORT: "TOO_SHORT",
    ValidationResult.INVALID_LENGTH: "INVALID_LENGTH",
    ValidationResult.TOO_LONG: "TOO_LONG",
}
ALT_DIGITS = [
    "０１２３４５６７８９",  # full-width
    "٠١٢٣٤٥٦٧٨٩",  # Arabic-Indic
    "۰۱۲۳۴۵۶۷۸۹",  # extended Arabic-Indic
    "०१२३४५६७८९",  # Devanagari
    "০১২৩৪৫৬৭৮৯",  # Bengali
    "๐๑๒๓๔๕๖๗๘๙",  # Thai
]
SEPARATORS = [" ", " ", "-", "-", ".", "/", "\u00a0", "\u2010", "\u2014", "\u3000", "~", "\u30fc",
              "\u2212", "\uff0d", ""]
EXTENSIONS = [" ext. {}", " ext {}", " x{}", "x{}", " X {}", "#{}", " #{}", ";ext={}", " extension {}",
              ",{}", ",,{}", " ext:{}", " доб. {}", " anexo {}", " int. {}", " Ext.{}",
              " extn {}", " extn. {}", " xtn {}", " ,{}", "  wählen {}", " ～{}", " ext{}#"]
TEXTS = ["Call me at {}", "{} (mobile)", "Tel: {}", "tel. {} or later", "phone {}!",
         "My number is {} thanks", "[{}]", "({})", "{}.", "{} / 2nd line +44 20 7031 3000",
         "<{}>", "\"{}\"", "{} ", " {}", "\u200b{}", "{}\u200b"]
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
GARBAGE = "0123456789+-.() /#*xXeEtT;:=,abc\u00a0\uff0b\uff10\u0661\u0966" + "ext" + "tel:"


# Decimal digits assigned in Unicode 15.0 and 16.0 (Kawi, Nag Mundari; Garay, Sunuwar, Gurung
# Khema, Kirat Rai, Ol Onal, outlined digits, Myanmar Pao and Eastern Pwo Karen) and a few
# letters of those versions (Kawi, CJK extensions H and I, Garay, Todhri, Tulu-Tigalari): a
# Python older than their version sees unassigned characters.
NEW_DIGIT_RUNS = [0x11F50, 0x1E4F0, 0x10D40, 0x11BF0, 0x16130, 0x16D70, 0x1E5F1, 0x1CCF0,
                  0x116D0, 0x116DA]
NEW_LETTERS = [0x11F04, 0x11F10, 0x11F33, 0x31350, 0x323AF, 0x2EBF0, 0x2EE5D, 0x10D50, 0x10D65,
               0x105C0, 0x105F3, 0x11380, 0x113B7, 0x1E5D0, 0x16D43]
# Extension labels of EXTN_PATTERNS_FOR_PARSING, in the spellings people type.
LABELS = ["ext", "EXT", "Ext.", "extension", "EXTENSION", "extensión", "extn", "xtn", "int",
          "INT", "anexo", "ANEXO", "доб", "ДОБ", "x", "X", "\uff45\uff58\uff54\uff4e",
          "\uff49\uff4e\uff54"]


def code_points():
    """Every character a UTF-8 text can hold (no surrogates), outside ASCII."""
    return (chr(cp) for cp in range(0x80, 0x110000) if not 0xD800 <= cp <= 0xDFFF)


def ignorecase_twins(letters):
    """For each of `letters`, the characters outside ASCII (other than itself) that Python's
    re.IGNORECASE matches with it, asked of `re` itself."""
    forms = {}
    for letter in letters:
        for f in {letter.lower(), letter.upper(), letter.casefold()}:
            forms.setdefault(f, set()).add(letter)
    candidates = {}
    for ch in code_points():
        for f in {ch.lower(), ch.upper(), ch.casefold()}:
            for letter in forms.get(f, ()):
                candidates.setdefault(letter, set()).add(ch)
    # Python's own extra equivalences (sre's table of the cases no case mapping gives, such as
    # i and ı), and what lower-cases to them.
    extra = getattr(getattr(re, "_casefix", None), "_EXTRA_CASES", {})
    for low, others in extra.items():
        for letter in letters:
            if letter.lower() == chr(low):
                candidates.setdefault(letter, set()).update(chr(o) for o in others)
    # And whatever a class of all the letters matches (sre's simple case mappings: `İ` lowers
    # to `i` there, to `i̇` in `str.lower`).
    anyone = re.compile("[%s]" % "".join(re.escape(x) for x in letters), re.IGNORECASE)
    for ch in code_points():
        if anyone.fullmatch(ch):
            for letter in letters:
                candidates.setdefault(letter, set()).add(ch)
    twins = {}
    for letter in letters:
        found = sorted(ch for ch in candidates.get(letter, ())
                       if ch != letter and re.fullmatch(re.escape(letter), ch, re.IGNORECASE))
        if found:
            twins[letter] = found
    return twins


def runs(pred):
    """The first and last character of every maximal run of characters outside ASCII on which
    `pred` holds, and of every run on which it does not."""
    out = []
    prev = None
    last = None
    for ch in code_points():
        v = pred(ch)
        if v != prev:
            if last is not None:
                out.append(last)
            out.append(ch)
            prev = v
        last = ch
    out.append(last)
    return out


def unicode_inputs(c):
    """The inputs whose answer depends on the oracle's Unicode data (see the module's doc)."""
    label_letters = sorted({ch for label in LABELS for ch in label if ch.isalpha()})
    letters = sorted(set(string.ascii_letters) | set(label_letters))
    twins = ignorecase_twins(letters)
    bases = [("US", "650 253 0000"), ("GB", "020 7031 3000"), ("US", "+1 650 253 0000"),
             ("DE", "030 1234567"), ("ZZ", "+44 20 7031 3000")]
    for label in LABELS:
        for i, ch in enumerate(label):
            for twin in twins.get(ch, []):
                spelled = label[:i] + twin + label[i + 1:]
                for region, base in bases:
                    c.add(region, "%s %s 12" % (base, spelled))
                    c.add(region, "%s %s. 123" % (base, spelled))
                    c.add(region, "%s%s12" % (base, spelled))
                    c.add(region, "%s %s" % (base, spelled))
    # Every twin of an ASCII letter as a keypad letter, in trailing text and in the middle of
    # the number (VALID_ALPHA, case-insensitive).
    for letter in string.ascii_letters:
        for twin in twins.get(letter, []):
            for region, word in (("US", "1-800-FLOW%sRS"), ("US", "1-800-%sLOWERS"),
                                 ("US", "+1 800 FLOWER%s"), ("GB", "0800 FLOW%sRS"),
                                 ("US", "1-800-FL%s"), ("US", "1-800-%s%s%s")):
                c.add(region, word.replace("%s", twin))
            for region, base in bases:
                c.add(region, "%s %s" % (base, twin))
                c.add(region, "%s%s%s" % (base, twin, twin))
                c.add(region, "%s %st" % (base, twin))
                c.add(region, "%s %s%s" % (base, twin, letter))
    # Every decimal digit: each script's digits for a whole number, and each digit alone.
    digits = [ch for ch in code_points() if ch.isdecimal()]
    by_zero = {}
    for ch in digits:
        by_zero.setdefault(chr(ord(ch) - unicodedata.decimal(ch)), []).append(ch)
    for zero in by_zero:
        to = lambda t: "".join(chr(ord(zero) + int(d)) if d.isdigit() else d for d in t)
        c.add("US", to("650 253 0000"))
        c.add("ZZ", "+" + to("44 20 7031 3000"))
    for ch in digits:
        c.add("US", "+1 650 253 000" + ch)
        c.add("GB", "020 7031 300" + ch)
    # Letters and numbers (isalnum, UNWANTED_END_CHARS) and digits (isdecimal) at the edges of
    # their runs, after a valid number.
    for ch in runs(str.isalnum) + runs(str.isdecimal):
        c.add("US", "+1 650 253 0000" + ch)
        c.add("US", "650 253 000" + ch)
    # The digits and letters of Unicode 15 and 16.
    for start in NEW_DIGIT_RUNS:
        chars = [chr(start + d) for d in range(10)]
        c.add("US", "".join(chars[int(d)] if d.isdigit() else d for d in "650 253 0000"))
        for ch in chars:
            c.add("US", "+1 650 253 000" + ch)
            c.add("US", "+1 650 253 0000" + ch)
    for cp in NEW_LETTERS:
        c.add("US", "+1 650 253 0000" + chr(cp))
        c.add("US", "+1 650 253 0000 " + chr(cp) + "12")


def oracle(region, text):
    try:
        n = phonenumbers.parse(text, region)
    except NumberParseException as e:
        return "error:" + ERROR_KINDS[e.error_type]
    if phonenumbers.is_valid_number(n):
        return phonenumbers.format_number(n, PhoneNumberFormat.E164)
    return "invalid:" + REASONS[phonenumbers.is_possible_number_with_reason(n)]


def metadata(cc, region):
    if region == "001":
        return PhoneMetadata.metadata_for_nongeo_region(cc)
    return PhoneMetadata.metadata_for_region(region)


class Corpus:
    def __init__(self):
        self.seen = set()
        self.items = []

    def add(self, region, text):
        if text is None or "\t" in text or "\n" in text or "\r" in text:
            return
        key = (region, text)
        if key in self.seen:
            return
        self.seen.add(key)
        self.items.append(key)


def rand_digits(rng, n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def decorate(rng, digits):
    """The digits split into groups by random separators, sometimes with brackets."""
    out = []
    i = 0
    sep = rng.choice(SEPARATORS)
    while i < len(digits):
        k = rng.randrange(1, 5)
        group = digits[i:i + k]
        if i == 0 and rng.random() < 0.3:
            group = "(" + group + ")"
        out.append(group)
        i += k
        if rng.random() < 0.2:
            sep = rng.choice(SEPARATORS)
        out.append(sep)
    return "".join(out[:-1])


def alt_digits(rng, text, share=1.0):
    alt = rng.choice(ALT_DIGITS)
    return "".join(alt[int(c)] if c.isdigit() and c < "\x80" and rng.random() < share else c
                   for c in text)


def to_letters(rng, text):
    """Replace a few trailing digits 2-9 by a keypad letter (vanity numbers)."""
    keypad = {"2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO", "7": "PQRS",
              "8": "TUV", "9": "WXYZ"}
    chars = list(text)
    changed = 0
    for i in range(len(chars) - 1, -1, -1):
        if chars[i] in keypad and changed < rng.randrange(1, 8):
            chars[i] = rng.choice(keypad[chars[i]])
            changed += 1
    return "".join(chars)


def edits(rng, text):
    """Single-character edits of the digits of a text."""
    positions = [i for i, c in enumerate(text) if c.isdigit()]
    out = []
    if not positions:
        return out
    for _ in range(3):
        i = rng.choice(positions)
        out.append(text[:i] + rng.choice("0123456789") + text[i + 1:])
    i = rng.choice(positions)
    out.append(text[:i] + text[i + 1:])
    i = rng.choice(positions)
    out.append(text[:i] + rng.choice("0123456789") + text[i:])
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: gen_normalize_corpus.py VERSION [OUT]")
    version = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join("e164", "tests", "data", "normalize_corpus.tsv.gz")
    if phonenumbers.__version__ != version:
        sys.exit("phonenumbers %s installed, %s required (pip install phonenumbers==%s)"
                 % (phonenumbers.__version__, version, version))
    rng = random.Random(SEED)
    c = Corpus()
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    everyone = regions + ["ZZ"]

    # The numbers people start from: every region's example numbers of every type.
    examples = []  # (region of the metadata, PhoneNumber)
    for cc in sorted(COUNTRY_CODE_TO_REGION_CODE):
        for region in COUNTRY_CODE_TO_REGION_CODE[cc]:
            m = metadata(cc, region)
            if m is None:
                continue
            for field in DESC_FIELDS:
                d = getattr(m, field, None)
                if d is None or not d.example_number:
                    continue
                try:
                    n = phonenumbers.parse("+%d%s" % (cc, d.example_number), None)
                except NumberParseException:
                    continue
                examples.append((region, n))

    def home(region):
        return region if region != "001" else "ZZ"

    for region, n in examples:
        e164 = phonenumbers.format_number(n, PhoneNumberFormat.E164)
        national = phonenumbers.format_number(n, PhoneNumberFormat.NATIONAL)
        intl = phonenumbers.format_number(n, PhoneNumberFormat.INTERNATIONAL)
        rfc = phonenumbers.format_number(n, PhoneNumberFormat.RFC3966)
        nsn = phonenumbers.national_significant_number(n)
        cc = n.country_code
        others = rng.sample(everyone, 6)
        # National, international, E.164 and RFC 3966 forms, at home and elsewhere.
        for r in [home(region)] + others[:2]:
            c.add(r, national)
            c.add(r, nsn)
        for r in [home(region)] + others:
            c.add(r, e164)
            c.add(r, intl)
        c.add(home(region), rfc)
        c.add(rng.choice(everyone), rfc)
        c.add(home(region), "tel:%s;phone-context=+%d" % (nsn, cc))
        c.add(rng.choice(everyone), "tel:%s;phone-context=+%d" % (national.replace(" ", "-"), cc))
        c.add(home(region), "tel:%s;phone-context=example.com" % nsn)
        c.add(home(region), "tel:%s;phone-context=" % nsn)
        c.add(home(region), "tel:%s;phone-context=+" % nsn)
        c.add(home(region), "tel:%s;phone-context=%s" % (nsn, rng.choice(["a.b", "-x.com", "1.com",
                                                                          "+1-2", "ex ample.com"])))
        c.add(home(region), rfc + ";isub=12345")
        c.add(home(region), rfc + ";ext=" + rand_digits(rng, rng.randrange(1, 9)))
        c.add(home(region), "tel:" + e164 + ";phone-context=" + rng.choice(["+44", "example.com"]))
        c.add(home(region), "sip:" + e164 + "@example.com")
        # Out-of-country dialling forms from other regions, read with that region as default.
        for r in rng.sample(regions, 4):
            try:
                c.add(r, phonenumbers.format_out_of_country_calling_number(n, r))
            except Exception:  # noqa: BLE001 — the port's formatter, not what we test
                pass
            m = PhoneMetadata.metadata_for_region(r)
            for idd in {m.international_prefix or "", m.preferred_international_prefix or ""}:
                if idd and idd.isdigit():
                    c.add(r, idd + str(cc) + nsn)
                    c.add(r, idd + " " + str(cc) + " " + decorate(rng, nsn))
        for r in rng.sample(regions, 2):
            c.add(r, "00" + str(cc) + nsn)
            c.add(r, "011" + str(cc) + nsn)
            c.add(r, "+" + "00" + str(cc) + nsn)
        # Decorated forms.
        for _ in range(2):
            c.add(home(region), decorate(rng, nsn))
            c.add(rng.choice(everyone), "+" + str(cc) + " " + decorate(rng, nsn))
            c.add(home(region), decorate(rng, national.replace(" ", "")))
        # Extensions.
        for r in (home(region), rng.choice(everyone)):
            ext = rand_digits(rng, rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]))
            c.add(r, rng.choice([national, intl, e164]) + rng.choice(EXTENSIONS).format(ext))
        # Unicode digits and plus signs.
        c.add(home(region), alt_digits(rng, national))
        c.add(rng.choice(everyone), alt_digits(rng, intl, rng.choice([0.5, 1.0])))
        c.add(rng.choice(everyone), "\uff0b" + alt_digits(rng, e164[1:]))
        # Keypad letters.
        c.add(home(region), to_letters(rng, national))
        c.add(rng.choice(everyone), to_letters(rng, intl))
        # Surrounding text.
        c.add(home(region), rng.choice(TEXTS).format(national))
        c.add(rng.choice(everyone), rng.choice(TEXTS).format(intl))
        # Carrier codes in the national form.
        for carrier in ("12", "15", "21", "31", "41"):
            try:
                c.add(home(region), phonenumbers.format_national_number_with_carrier_code(n, carrier))
            except Exception:  # noqa: BLE001
                pass
        # The national prefix kept after the calling code, or doubled.
        m = metadata(cc, region)
        if m is not None and m.national_prefix:
            c.add(rng.choice(everyone), "+%d%s%s" % (cc, m.national_prefix, nsn))
            c.add(home(region), "%s%s%s" % (m.national_prefix, m.national_prefix, nsn))
            c.add(home(region), "%s (%s) %s" % (cc, m.national_prefix, nsn))
        # Single-digit edits of the national and international forms.
        for t in edits(rng, national):
            c.add(home(region), t)
        for t in edits(rng, intl):
            c.add(rng.choice(everyone), t)
        # Truncations and extra digits.
        c.add(home(region), nsn[:-1])
        c.add(home(region), nsn[:-2])
        c.add(home(region), nsn + rand_digits(rng, 1))
        c.add(rng.choice(everyone), e164 + rand_digits(rng, rng.randrange(1, 6)))
        c.add(rng.choice(everyone), e164[:-rng.randrange(1, 4)])
        c.add(rng.choice(everyone), str(cc) + nsn)

    # Per region: random numbers of its possible lengths that start like its examples, written
    # nationally (with and without its national prefix), internationally and decorated.
    starts_of = {}
    for region, n in examples:
        nsn = phonenumbers.national_significant_number(n)
        starts_of.setdefault(region, set()).update({nsn[:1], nsn[:2], nsn[:3], nsn[:4]})
    for cc in sorted(COUNTRY_CODE_TO_REGION_CODE):
        for region in COUNTRY_CODE_TO_REGION_CODE[cc]:
            m = metadata(cc, region)
            if m is None:
                continue
            lengths = sorted(set(m.general_desc.possible_length or ()) |
                             set(m.general_desc.possible_length_local_only or ()) | {4, 12})
            starts = sorted(starts_of.get(region, {""}) | {""})
            np = m.national_prefix or ""
            for _ in range(330):
                p = rng.choice(starts)
                nsn = p + rand_digits(rng, max(0, rng.choice(lengths) - len(p)))
                form = rng.randrange(6)
                if form == 0:
                    c.add(home(region), np + nsn)
                elif form == 1:
                    c.add(home(region), decorate(rng, np + nsn))
                elif form == 2:
                    c.add(rng.choice(everyone), "+%d %s" % (cc, decorate(rng, nsn)))
                elif form == 3:
                    c.add(home(region), nsn)
                elif form == 4:
                    c.add(rng.choice(everyone), np + nsn)
                else:
                    r = rng.choice(regions)
                    idd = PhoneMetadata.metadata_for_region(r).preferred_international_prefix or "00"
                    c.add(r, "%s%d%s" % (idd if idd.isdigit() else "00", cc, nsn))

    # NANP numbers as Americans write them.
    for _ in range(6000):
        npa = rng.randrange(200, 1000)
        nxx = rng.randrange(200, 1000)
        line = rand_digits(rng, 4)
        form = rng.choice(["(%d) %d-%s", "%d-%d-%s", "%d.%d.%s", "1 (%d) %d-%s", "+1 %d %d %s",
                           "1-%d-%d-%s", "%d%d%s", "001%d%d%s", "011 1 %d %d %s"])
        c.add(rng.choice(["US", "US", "CA", "PR", "GB", "ZZ", "JM", "DE"]), form % (npa, nxx, line))
    # Random digit strings and garbage, over every default region.
    for _ in range(30000):
        r = rng.choice(everyone)
        n = rng.randrange(0, 21)
        prefix = rng.choice(["", "", "", "0", "00", "+", "+0", "011", "8", "810", "1", "*", "#"])
        c.add(r, prefix + rand_digits(rng, n))
    for _ in range(12000):
        r = rng.choice(everyone)
        n = rng.randrange(0, 25)
        c.add(r, "".join(rng.choice(GARBAGE) for _ in range(n)))
    # Long inputs (past the 250-character and 17-digit limits).
    for k in (16, 17, 18, 19, 20, 30, 100):
        c.add("US", "+1" + "2" * k)
        c.add("DE", "0" + "3" * k)
    for k in (240, 249, 250, 251, 300):
        c.add("US", "+1 415 555 9876" + " " * (k - 15))
        c.add("US", ("4" * k))
    for s in ["", " ", "+", "++", "+1", "tel:", "tel:+", ";ext=1", "x", "ext. 5", "1-800-FLOWERS",
              "+1-800-FLOWERS", "0800 FLOWERS", "ABC", "12", "+12", "+123", "#", "*123#", "+ 1 2",
              "\uff0b\uff11", "+\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669", "00", "000",
              "+44 (0) 20 7031 3000", "+44 0 20 7031 3000", "020 7031 3000", "00 44 20 7031 3000",
              "(415) 555-9876", "0712 034 567", "+1 (415) 555-9876 ext. 12", "tel:+1-415-555-9876",
              "tel:415-555-9876;phone-context=+1", "1 415 555 9876", "+49 (0)30 1234567"]:
        for r in ("US", "GB", "DE", "KE", "ZZ", "BR", "AU", "IT", "RU", "IN"):
            c.add(r, s)

    unicode_inputs(c)

    buf = io.StringIO()
    buf.write("# phonenumbers %s; Python %s; Unicode %s\n"
              % (phonenumbers.__version__, platform.python_version(), unicodedata.unidata_version))
    counts = {}
    for region, text in c.items:
        res = oracle(region, text)
        kind = "valid" if res.startswith("+") else res.split(":")[0] + ":" + res.split(":")[1]
        counts[kind] = counts.get(kind, 0) + 1
        buf.write("%s\t%s\t%s\n" % (region, text, res))
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
            gz.write(buf.getvalue().encode("utf-8"))
    print("%s: %d inputs, phonenumbers %s, Python %s, Unicode %s"
          % (out, len(c.items), phonenumbers.__version__, platform.python_version(),
             unicodedata.unidata_version))
    for k in sorted(counts):
        print("  %-32s %d" % (k, counts[k]))


if __name__ == "__main__":
    main()
