#!/usr/bin/env python3
"""Compare the metadata extracted by build.rs with the Python port's (the oracle).

Usage: python3 tools/e164/check_metadata.py [PATH_TO_e164_metadata_dump.jsonl]

Without an argument the newest `$CARGO_TARGET_DIR/*/build/bulk-contacts-*/out/` dump is used
(CARGO_TARGET_DIR defaults to ./target). Exits 1 and prints the differences if any.
"""
import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if len(sys.argv) > 1:
        path = sys.argv[1]
    else:
        target = os.environ.get("CARGO_TARGET_DIR", "target")
        paths = glob.glob(os.path.join(target, "*", "build", "bulk-contacts-*", "out",
                                       "e164_metadata_dump.jsonl"))
        if not paths:
            sys.exit("no e164_metadata_dump.jsonl found: build the crate first")
        path = max(paths, key=os.path.getmtime)
    ours = [json.loads(l) for l in open(path, encoding="utf-8")]
    py = subprocess.run([sys.executable, os.path.join(HERE, "dump_metadata.py")],
                        check=True, capture_output=True, text=True).stdout
    theirs = [json.loads(l) for l in py.splitlines()]
    diffs = 0
    if len(ours) != len(theirs):
        print("region count: ours %d, oracle %d" % (len(ours), len(theirs)))
        diffs += 1
    for a, b in zip(ours, theirs):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                diffs += 1
                if diffs <= 40:
                    print("%s/%s %s:\n  ours   %s\n  oracle %s" % (
                        a.get("cc"), a.get("region"), k,
                        json.dumps(a.get(k))[:300], json.dumps(b.get(k))[:300]))
    print("%s: %d regions compared, %d differences" % (path, len(ours), diffs))
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
