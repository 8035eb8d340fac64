#!/bin/sh
# Stop the Py-Polymarket stack started by launch_online_stack.sh: a thin wrapper over
# `polymarket-launch stack stop` (docs/OPERATIONS.md), run from the repository root.
#   scripts/stop_stack.sh --port 8888 [--timeout 30]
#   scripts/stop_stack.sh -Port 8888 [-Timeout 30]
# Without a port it stops whatever stack run/stack.json records.
set -eu
ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
SELF="$ROOT/scripts/$(basename -- "$0")"
cd "$ROOT"

# POLYMARKET_PYTHON: the interpreter to use (default: the repository's .venv, else python3).
if [ -n "${POLYMARKET_PYTHON:-}" ]; then PY=$POLYMARKET_PYTHON
elif [ -x "$ROOT/.venv/bin/python" ]; then PY="$ROOT/.venv/bin/python"
else PY=python3; fi
need_value() {
  if [ "$2" = "--end-of-options--" ]; then echo "$(basename "$0"): $1 needs a value" >&2; exit 2; fi
}

PORT=
set -- "$@" --end-of-options--
while [ "$1" != "--end-of-options--" ]; do
  opt=$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')
  case "$opt" in
    --port=*|-port=*) PORT=${1#*=} ;;
    --port|-port) need_value "$1" "$2"; PORT=$2; shift ;;
    --timeout=*|-timeout=*) set -- "$@" --timeout "${1#*=}" ;;
    --timeout|-timeout) need_value "$1" "$2"; set -- "$@" --timeout "$2"; shift ;;
    -h|--help|-help) sed -n '2,6p' "$SELF"; exit 0 ;;
    *) set -- "$@" "$1" ;;
  esac
  shift
done
shift  # the marker
if [ -n "$PORT" ]; then set -- --port "$PORT" "$@"; fi
exec "$PY" -m polymarket_bot stack stop "$@"
