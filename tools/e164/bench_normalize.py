#!/usr/bin/env python3
"""Time Python's `phonenumbers` (what import scripts use) on the inputs of
`benches/normalize.rs`: the same 2,000 (region, text) pairs, taken at the same stride from
e164/tests/data/normalize_corpus.tsv.gz, through parse + is_valid_number + format_number(E164).

Usage:
    pip install phonenumbers==9.0.43
    python3 tools/e164/bench_normalize.py [CORPUS]

Prints the median time per input over 7 rounds, then the same figure in nanoseconds on a
line of its own (`median_ns_per_input N`), and the median CPU time of the process per input
(`median_cpu_ns_per_input N`, time.process_time: the time waiting for a core on a loaded
machine left out), both read by tools/e164/bench_normalize.sh.
"""
import gzip
import os
import statistics
import sys
import time

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

N = 2000


def sample(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")[1:]
    pairs = [tuple(l.split("\t")[:2]) for l in lines if l]
    step = max(len(pairs) // N, 1)
    return pairs[::step][:N]


def normalize(region, text):
    try:
        n = phonenumbers.parse(text, region)
    except NumberParseException:
        return False
    return phonenumbers.is_valid_number(n) and bool(phonenumbers.format_number(n, PhoneNumberFormat.E164))


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join("e164", "tests", "data", "normalize_corpus.tsv.gz")
    pairs = sample(path)
    normalize("US", "(415) 555-9876")  # metadata loading is not what we time
    rounds = []
    cpu = []
    for _ in range(7):
        t = time.perf_counter()
        c = time.process_time()
        valid = sum(1 for r, text in pairs if normalize(r, text))
        cpu.append((time.process_time() - c) / len(pairs))
        rounds.append((time.perf_counter() - t) / len(pairs))
    print("phonenumbers %s: %d inputs (%d valid), median %.2f us per input"
          % (phonenumbers.__version__, len(pairs), valid, statistics.median(rounds) * 1e6))
    print("median_ns_per_input %.1f" % (statistics.median(rounds) * 1e9))
    print("median_cpu_ns_per_input %.1f" % (statistics.median(cpu) * 1e9))


if __name__ == "__main__":
    main()
