#!/usr/bin/env bash
# Property-based checks of the live server against its OpenAPI document: starts the server
# binary (the debug build, built if needed, unless given) over SQLite in memory with the demo account, runs
# schemathesis (pinned, in a virtualenv under target/) with every check on every operation,
# and stops the server. Exit status: schemathesis's.
#
#   bash server/scripts/schemathesis.sh [path/to/bulk-contacts-server]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-}
VENV=$(realpath -m "${SCHEMATHESIS_VENV:-target/schemathesis-venv}")
VERSION=4.32.5
KEY=trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6

if [ -z "$BIN" ]; then
  cargo build -q -p bulk-contacts-server --bin bulk-contacts-server
  BIN=target/debug/bulk-contacts-server
fi
if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$VERSION"
fi

LOG=$(mktemp)
"$BIN" --seed-demo --listen 127.0.0.1:0 --log-format text 2>"$LOG" &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -f "$LOG"' EXIT
ADDR=
for _ in $(seq 100); do
  ADDR=$(sed -n 's|^listening on http://\([^ ]*\).*|\1|p' "$LOG")
  [ -n "$ADDR" ] && break
  sleep 0.1
done
[ -n "$ADDR" ] || { cat "$LOG"; echo "the server did not start" >&2; exit 1; }

# From target/: schemathesis keeps its example database in ./.schemathesis.
mkdir -p target
cd target
"$VENV/bin/st" --config-file ../server/scripts/schemathesis.toml run "http://$ADDR/openapi.json" \
  --checks all \
  --header "X-Api-Key: $KEY" \
  --max-examples "${MAX_EXAMPLES:-100}" \
  --seed 1 \
  --request-timeout 20
