#!/usr/bin/env bash
# Moves the E.164 validator to another libphonenumber release, in one command:
#
#   tools/e164/update.sh 9.0.44
#
# 1. installs `phonenumbers==VERSION` (the Python port of that release, from PyPI) into a
#    virtual environment of its own, target/e164-venv-VERSION (reused when it exists);
# 2. regenerates the committed metadata, e164/src/metadata.jsonl (tools/e164/gen_metadata.py),
#    and pins VERSION in e164::METADATA_VERSION (e164/src/lib.rs) and requirements.txt;
# 3. regenerates the differential corpora at that version: e164/tests/data/e164_corpus.tsv.gz
#    (tools/e164/gen_corpus.py, the strict rule) and e164/tests/data/normalize_corpus.tsv.gz
#    (tools/e164/gen_normalize_corpus.py, lenient normalization);
# 4. rebuilds and runs the differential and version tests (cargo test -p bulk-contacts-e164 --test e164_differential
#    --test normalize_differential --test e164_properties): 0 mismatches or a non-zero exit; then the conformance cases, whose
#    expected answers were computed at an older release (a case whose phone number changed
#    verdict fails: pick another number in tools/gen_conformance.py).
#
# Then review `git diff --stat` and commit. Needs python3 (with venv) and access to PyPI.
set -euo pipefail

if [[ $# -ne 1 || ! $1 =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    echo "usage: tools/e164/update.sh VERSION   (a libphonenumber release, e.g. 9.0.44)" >&2
    exit 2
fi
version=$1
cd "$(dirname "$0")/../.."
venv="${CARGO_TARGET_DIR:-target}/e164-venv-$version"

echo "== phonenumbers==$version into $venv"
if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "phonenumbers==$version"
python="$venv/bin/python"

echo "== e164/src/metadata.jsonl"
"$python" tools/e164/gen_metadata.py "$version"
sed -i -E "s/^pub const METADATA_VERSION: &str = \"[^\"]*\";/pub const METADATA_VERSION: \&str = \"$version\";/" \
    e164/src/lib.rs
grep -q "^pub const METADATA_VERSION: &str = \"$version\";" e164/src/lib.rs
echo "phonenumbers==$version" > tools/e164/requirements.txt

echo "== e164/tests/data/e164_corpus.tsv.gz"
"$python" tools/e164/gen_corpus.py

echo "== e164/tests/data/normalize_corpus.tsv.gz"
"$python" tools/e164/gen_normalize_corpus.py "$version"

echo "== differential test"
log=$(mktemp)
if ! cargo test -p bulk-contacts-e164 --test e164_differential --test normalize_differential --test e164_properties \
    -- --nocapture >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "== FAILED (see above). A mismatch of e164_differential is a validator defect to fix;" >&2
    echo "   a failure of the pinned verdicts in tests/e164_properties.rs names numbers whose" >&2
    echo "   verdict changed in $version: update that list." >&2
    exit 1
fi
grep -E "candidates" "$log"
rm -f "$log"

echo "== conformance cases"
cargo test --quiet --test conformance

echo "== ok: libphonenumber $version, 0 mismatches (review git diff, then commit)"
