#!/usr/bin/env python3
"""Generate the differential corpus of the E.164 validator, with the Python port of
libphonenumber (`phonenumbers`, pinned in requirements.txt) as the oracle.

Usage (`tools/e164/update.sh VERSION` runs it with the right `phonenumbers` installed):
    pip install -r tools/e164/requirements.txt
    python3 tools/e164/gen_corpus.py [OUT]        # default: e164/tests/data/e164_corpus.tsv.gz

The oracle must be the version of the committed metadata (the header of
e164/src/metadata.jsonl), so that the corpus tests the metadata the crate compiles. The first
line of the (gzip-compressed, UTF-8) output names it:

    # libphonenumber metadata version: 9.0.43 (oracle: phonenumbers 9.0.43)

and each other line is

    candidate<TAB>valid<TAB>REGION<TAB>type      for a valid candidate
    candidate<TAB>invalid                        otherwise

where valid means SPEC §6: the candidate matches ^\\+[1-9][0-9]{1,14}$, parse(s, None)
succeeds, is_valid_number holds and format_number(E164) gives back s; REGION is
region_code_for_number and type the snake-case name of number_type. Candidates never contain
a tab, CR or LF. The output is deterministic (fixed seed, no set iteration order, gzip mtime 0).
"""
import gzip
import io
import os
import random
import re
import sys

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat, PhoneNumberType
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

METADATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "e164", "src",
                        "metadata.jsonl")
VERSION_LINE = "# libphonenumber metadata version: "
SEED = 20250601
SYNTAX = re.compile(r"\+[1-9][0-9]{1,14}")

TYPE_NAMES = {
    getattr(PhoneNumberType, n): n.lower()
    for n in ("FIXED_LINE", "MOBILE", "FIXED_LINE_OR_MOBILE", "TOLL_FREE", "PREMIUM_RATE",
              "SHARED_COST", "VOIP", "PERSONAL_NUMBER", "PAGER", "UAN", "VOICEMAIL", "UNKNOWN")
}
DESC_FIELDS = ["fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "voip",
               "personal_number", "pager", "uan", "voicemail", "no_international_dialling"]
NON_GEO = [800, 808, 870, 878, 881, 882, 883, 888, 979]
SHARED = [1, 7, 44, 47, 262, 590, 599, 61, 39, 212, 358, 290]


def oracle(s):
    """(region, type) when s is a valid E.164 number in the sense of SPEC §6, else None."""
    if not SYNTAX.fullmatch(s):
        return None
    try:
        n = phonenumbers.parse(s, None)
    except NumberParseException:
        return None
    except Exception:  # a crash of the port counts as "not accepted"  # noqa: BLE001
        return None
    if not phonenumbers.is_valid_number(n):
        return None
    if phonenumbers.format_number(n, PhoneNumberFormat.E164) != s:
        return None
    return phonenumbers.region_code_for_number(n), TYPE_NAMES[phonenumbers.number_type(n)]


def metadata(cc, region):
    if region == "001":
        return PhoneMetadata.metadata_for_nongeo_region(cc)
    return PhoneMetadata.metadata_for_region(region)


def all_regions():
    for cc in sorted(COUNTRY_CODE_TO_REGION_CODE):
        for region in COUNTRY_CODE_TO_REGION_CODE[cc]:
            m = metadata(cc, region)
            if m is not None:
                yield cc, region, m


class Corpus:
    def __init__(self):
        self.seen = set()
        self.items = []

    def add(self, s):
        if not s or s.startswith("#") or "\t" in s or "\n" in s or "\r" in s or s in self.seen:
            return
        self.seen.add(s)
        self.items.append(s)


def rand_digits(rng, n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def mutations(rng, cc, nsn):
    """Digit substitutions, truncations, extensions, insertions and deletions of a number."""
    out = []
    ccs = str(cc)
    for i in range(len(nsn)):
        for d in rng.sample("0123456789", 3):
            if d != nsn[i]:
                out.append(ccs + nsn[:i] + d + nsn[i + 1:])
    for k in range(1, min(len(nsn), 5)):
        out.append(ccs + nsn[:-k])
    for k in range(1, 4):
        out.append(ccs + nsn + rand_digits(rng, k))
    for _ in range(3):
        i = rng.randrange(len(nsn) + 1)
        out.append(ccs + nsn[:i] + rng.choice("0123456789") + nsn[i:])
        if nsn:
            j = rng.randrange(len(nsn))
            out.append(ccs + nsn[:j] + nsn[j + 1:])
    return ["+" + x for x in out]


ALT_DIGITS = [
    "０１２３４５６７８９",  # fullwidth
    "٠١٢٣٤٥٦٧٨٩",  # Arabic-Indic
    "۰۱۲۳۴۵۶۷۸۹",  # extended Arabic-Indic
    "०१२३४५६७८९",  # Devanagari
]


def spellings(rng, s):
    """Non-canonical spellings of a canonical E.164 string (all invalid under rule 1)."""
    digits = s[1:]
    cut = rng.randrange(1, len(digits)) if len(digits) > 1 else 1
    a, b = digits[:cut], digits[cut:]
    alt = rng.choice(ALT_DIGITS)
    return [
        "+" + a + " " + b,
        "+" + a + "-" + b,
        "+" + a + " (" + b[:3] + ") " + b[3:],
        "+(" + a + ")" + b,
        "00" + digits,
        "011" + digits,
        digits,
        " " + s,
        s + " ",
        "＋" + digits,
        "+" + "".join(alt[int(c)] for c in digits),
        "+" + a + alt[int(b[0])] + b[1:] if b else s + alt[0],
        "tel:" + s,
        s + " ext. 12",
        s + "x12",
        s + "#",
        "++" + digits,
        "+ " + digits,
        "+" + a + "." + b,
        "+" + a + "/" + b,
        "+0" + digits,
        s + "\u00a0",
        "\u200b" + s,
    ]


def metadata_version():
    """The version named in the header of the committed metadata."""
    with open(METADATA, encoding="utf-8") as f:
        for line in f:
            if line.startswith(VERSION_LINE):
                return line[len(VERSION_LINE):].strip()
    sys.exit("%s: no %r line" % (METADATA, VERSION_LINE))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("e164", "tests", "data", "e164_corpus.tsv.gz")
    expected = metadata_version()
    if phonenumbers.__version__ != expected:
        sys.exit("phonenumbers %s installed, but e164/src/metadata.jsonl is %s "
                 "(tools/e164/update.sh %s)" % (phonenumbers.__version__, expected, expected))
    rng = random.Random(SEED)
    c = Corpus()
    regions = list(all_regions())

    # 1. Every region and every type: libphonenumber's example numbers, and their mutations.
    examples = []  # (cc, nsn)
    for cc, region, m in regions:
        for field in DESC_FIELDS + ["general_desc"]:
            d = getattr(m, field, None)
            if d is not None and d.example_number:
                examples.append((cc, d.example_number))
    for cc, nsn in examples:
        c.add("+%d%s" % (cc, nsn))
    for cc, nsn in examples:
        for s in mutations(rng, cc, nsn):
            c.add(s)

    # 2. A national prefix (or carrier code) kept after the calling code: the national
    #    format's digits, and explicit prefixes.
    for cc, region, m in regions:
        nps = [p for p in {m.national_prefix or "", "0", "1", "8", "9", "00", "06"} if p]
        for field in DESC_FIELDS:
            d = getattr(m, field, None)
            if d is None or not d.example_number:
                continue
            try:
                n = phonenumbers.parse("+%d%s" % (cc, d.example_number), None)
                national = re.sub(r"\D", "", phonenumbers.format_number(n, PhoneNumberFormat.NATIONAL))
                c.add("+%d%s" % (cc, national))
                for carrier in ("12", "15", "21", "31", "41"):
                    c.add("+%d%s" % (cc, phonenumbers.format_national_number_with_carrier_code(n, carrier)
                                     .translate({ord(x): None for x in " -()/."})))
            except NumberParseException:
                pass
            for p in sorted(nps):
                c.add("+%d%s%s" % (cc, p, d.example_number))
                c.add("+%d%s%s" % (cc, p, d.example_number[:-1]))

    # 3. NANP over all area codes (Canada and the Caribbean included).
    for npa in range(200, 1000):
        for _ in range(14):
            nxx = rng.choice([rng.randrange(200, 1000), 555, 211, 411, 911, rng.randrange(100, 200)])
            c.add("+1%03d%03d%s" % (npa, nxx, rand_digits(rng, 4)))
        c.add("+1%03d%s" % (npa, rand_digits(rng, 6)))  # too short
        c.add("+1%03d%s" % (npa, rand_digits(rng, 8)))  # too long
        c.add("+11%03d%s" % (npa, rand_digits(rng, 7)))  # trunk prefix 1 kept
    for npa in range(100, 200):
        c.add("+1%03d%s" % (npa, rand_digits(rng, 7)))

    # 4. Shared calling codes: random numbers over the regions' leading digits, example
    #    prefixes and possible lengths.
    for cc in SHARED + NON_GEO:
        for region in COUNTRY_CODE_TO_REGION_CODE.get(cc, []):
            m = metadata(cc, region)
            lengths = sorted(set(m.general_desc.possible_length or ()) | {6, 7, 8, 9, 10, 11, 12})
            prefixes = [""]
            if m.leading_digits:
                for p in range(10000):
                    ps = str(p)
                    if re.match(m.leading_digits, ps) and len(ps) <= 4:
                        prefixes.append(ps)
            for field in DESC_FIELDS:
                d = getattr(m, field, None)
                if d is not None and d.example_number:
                    for k in (1, 2, 3, 4):
                        prefixes.append(d.example_number[:k])
            prefixes = sorted(set(prefixes))
            for _ in range(1200 if cc in NON_GEO else 700):
                p = rng.choice(prefixes)
                n = rng.choice(lengths)
                c.add("+%d%s%s" % (cc, p, rand_digits(rng, max(0, n - len(p)))))
    for _ in range(3000):  # +7: Russia and Kazakhstan
        c.add("+7%s%s" % (rng.choice("0123456789"), rand_digits(rng, rng.choice([8, 9, 10]))))
    for p in ("1481", "1534", "1624", "7781", "7797", "7839", "7911", "7924", "7937", "7700",
              "7624", "7524", "7509", "3", "5", "8", "9", "0", "20", "1"):
        for _ in range(150):
            c.add("+44%s%s" % (p, rand_digits(rng, rng.choice([9, 10]) - len(p))))

    # 5. Italian-style leading zeros (and other plans whose numbers start with 0).
    for cc in (39, 225, 242, 240, 379, 44, 7, 1, 49, 33, 81):
        for _ in range(400):
            z = rng.choice(["0", "0", "00", "000", "0" * rng.randrange(1, 12)])
            n = rng.randrange(0, 11)
            c.add("+%d%s%s" % (cc, z, rand_digits(rng, n)))
    for k in range(1, 14):
        c.add("+39" + "0" * k)

    # 6. Per region: random digits over each possible length, starting like its examples.
    for cc, region, m in regions:
        lengths = sorted(set(m.general_desc.possible_length or ()) | set(m.general_desc.possible_length_local_only or ()))
        starts = [""]
        for field in DESC_FIELDS:
            d = getattr(m, field, None)
            if d is not None and d.example_number:
                starts += [d.example_number[:1], d.example_number[:2], d.example_number[:3]]
        for n in lengths:
            for _ in range(40):
                p = rng.choice(starts)
                c.add("+%d%s%s" % (cc, p, rand_digits(rng, max(0, n - len(p)))))

    # 7. Random digit strings of 1 to 17 digits (some with a leading 0).
    for _ in range(26000):
        n = rng.randrange(1, 18)
        c.add("+" + rand_digits(rng, n))
    for n in range(1, 18):
        c.add("+" + "1" * n)
        c.add("+" + "0" * n)

    # 8. Non-canonical spellings of valid numbers (and a few of invalid ones).
    valid_sample = [s for s in c.items if oracle(s)]
    rng.shuffle(valid_sample)
    for s in valid_sample[:2500]:
        for v in spellings(rng, s):
            c.add(v)
    for s in ["", "+", "+1", "+12", "+123", "1", "+a", "+1 ", " ", "+1-800-FLOWERS",
              "+1800FLOWERS", "+\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668",
              "+141555598760000", "+1415555987600000", "+14155559876;ext=1", "+14155559876\x00"]:
        c.add(s)

    buf = io.StringIO()
    buf.write("%s%s (oracle: phonenumbers %s)\n" % (VERSION_LINE, expected, phonenumbers.__version__))
    counts = {"valid": 0, "invalid": 0}
    for s in c.items:
        v = oracle(s)
        if v is None:
            buf.write("%s\tinvalid\n" % s)
            counts["invalid"] += 1
        else:
            buf.write("%s\tvalid\t%s\t%s\n" % (s, v[0], v[1]))
            counts["valid"] += 1
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
            gz.write(buf.getvalue().encode("utf-8"))
    print("%s: %d candidates (%d valid, %d invalid), phonenumbers %s"
          % (out, len(c.items), counts["valid"], counts["invalid"], phonenumbers.__version__))


if __name__ == "__main__":
    main()
