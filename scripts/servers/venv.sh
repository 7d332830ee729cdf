#!/usr/bin/env bash
# Creates (once) the Python venv with the smoke-test clients; prints its python.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
VENV="$SERVERS_DIR/venv"
REQ="$(cd "$(dirname "$0")" && pwd)/requirements.txt"
if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$REQ" "$VENV/requirements.txt"; then
  command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv
  log "creating $VENV"
  python3 -m venv "$VENV" || { apt_install python3-venv; python3 -m venv "$VENV"; }
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ" >&2 || die "pip install failed"
  cp "$REQ" "$VENV/requirements.txt"
fi
echo "$VENV/bin/python"
