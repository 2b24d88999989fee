#!/usr/bin/env python3
"""Ad-hoc differential fuzzing of the `e164` example against the Python oracle, with a
generator independent of gen_corpus.py: random strings *sampled from the metadata's own
patterns* (every type, leading digits and national prefixes of every region), then mutated,
prefixed with national prefixes, or wrapped in leading zeros.

Usage:
    cargo build --release --example e164
    python3 tools/e164/fuzz_compare.py [COUNT] [SEED] [BINARY]

Prints the mismatches (at most 50) and exits 1 if there is any. Nothing is written to disk
except a temporary file.
"""
import os
import random
import subprocess
import sys
import tempfile

try:
    import re._parser as sre_parse  # Python >= 3.11
    import re._constants as sre_constants
except ImportError:  # pragma: no cover
    import sre_parse
    import sre_constants

from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_corpus import DESC_FIELDS, oracle  # noqa: E402

DIGITS = "0123456789"


def sample(rng, pattern):
    """A random string matched (as a prefix at least) by `pattern`; digits only."""
    out = []

    def gen(items):
        for op, av in items:
            if op == sre_constants.LITERAL:
                out.append(chr(av))
            elif op == sre_constants.IN:
                chars = []
                negate = False
                for iop, iav in av:
                    if iop == sre_constants.LITERAL:
                        chars.append(chr(iav))
                    elif iop == sre_constants.RANGE:
                        chars += [chr(x) for x in range(iav[0], iav[1] + 1)]
                    elif iop == sre_constants.CATEGORY:
                        chars += list(DIGITS)
                    elif iop == sre_constants.NEGATE:
                        negate = True
                if negate:
                    chars = [d for d in DIGITS if d not in chars]
                chars = [ch for ch in chars if ch in DIGITS] or list(DIGITS)
                out.append(rng.choice(chars))
            elif op == sre_constants.BRANCH:
                gen(rng.choice(av[1]))
            elif op == sre_constants.SUBPATTERN:
                gen(av[-1])
            elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
                lo, hi, sub = av
                hi = min(hi, lo + 4) if hi != sre_constants.MAXREPEAT else lo + 4
                for _ in range(rng.randint(lo, hi)):
                    gen(sub)
            elif op == sre_constants.CATEGORY:
                out.append(rng.choice(DIGITS))
            elif op == sre_constants.ANY:
                out.append(rng.choice(DIGITS))
            # AT (anchors) and others: nothing to emit

    gen(sre_parse.parse(pattern))
    return "".join(out)


def candidates(rng, count):
    regions = []
    for cc in sorted(COUNTRY_CODE_TO_REGION_CODE):
        for region in COUNTRY_CODE_TO_REGION_CODE[cc]:
            m = (PhoneMetadata.metadata_for_nongeo_region(cc) if region == "001"
                 else PhoneMetadata.metadata_for_region(region))
            pats = [getattr(m, f).national_number_pattern for f in DESC_FIELDS
                    if getattr(m, f, None) is not None]
            pats.append(m.general_desc.national_number_pattern)
            regions.append((cc, m, pats))
    for _ in range(count):
        cc, m, pats = rng.choice(regions)
        nsn = sample(rng, rng.choice(pats))
        r = rng.random()
        if r < 0.35:
            pass
        elif r < 0.55:  # mutate one digit
            if nsn:
                i = rng.randrange(len(nsn))
                nsn = nsn[:i] + rng.choice(DIGITS) + nsn[i + 1:]
        elif r < 0.65:  # truncate or extend
            nsn = nsn[:-1] if rng.random() < 0.5 else nsn + rng.choice(DIGITS)
        elif r < 0.8:  # national prefix (for parsing) in front
            npfp = m.national_prefix_for_parsing or m.national_prefix
            if npfp:
                nsn = sample(rng, npfp) + nsn
            else:
                nsn = "0" + nsn
        elif r < 0.88:  # leading digits of a region
            if m.leading_digits:
                ld = sample(rng, m.leading_digits)
                nsn = ld + nsn[len(ld):]
        elif r < 0.95:  # leading zeros
            nsn = "0" * rng.randint(1, 3) + nsn
        else:  # another code's number under this code
            cc2 = rng.choice(regions)[0]
            cc = cc2
        yield "+%d%s" % (cc, nsn)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    binary = sys.argv[3] if len(sys.argv) > 3 else os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "release", "examples", "e164")
    rng = random.Random(seed)
    cands = list(candidates(rng, count))
    with tempfile.NamedTemporaryFile("w", delete=False, suffix=".txt") as f:
        f.write("".join(c + "\n" for c in cands))
        path = f.name
    try:
        with open(path, "rb") as inp:
            got = subprocess.run([binary, "--explain"], stdin=inp, capture_output=True,
                                 check=True).stdout.decode().splitlines()
    finally:
        os.unlink(path)
    assert len(got) == len(cands), (len(got), len(cands))
    bad = 0
    valid = 0
    for c, g in zip(cands, got):
        v = oracle(c)
        want = "invalid" if v is None else "valid\t%s\t%s" % v
        valid += v is not None
        if want != g:
            bad += 1
            if bad <= 50:
                print("MISMATCH %r: oracle %r, ours %r" % (c, want, g))
    print("%d candidates (%d valid), %d mismatches" % (len(cands), valid, bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
