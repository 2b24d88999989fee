#!/usr/bin/env bash
# Runs server/scripts/real_clients.py with `requests` available: a virtualenv under target/
# with requests pinned. Builds the release binary if none is given.
#
#   bash server/scripts/real_clients.sh [path/to/bulk-contacts-server] [GOAL...]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-}
[ $# -gt 0 ] && shift
VENV=$(realpath -m "${CLIENTS_VENV:-target/clients-venv}")
if [ -z "$BIN" ]; then
  cargo build -q --release -p bulk-contacts-server --bin bulk-contacts-server
  BIN=target/release/bulk-contacts-server
fi
if ! "$VENV/bin/python" -c 'import requests, sys; sys.exit(requests.__version__ != "2.32.3")' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "requests==2.32.3"
fi
exec "$VENV/bin/python" server/scripts/real_clients.py "$BIN" "$@"
