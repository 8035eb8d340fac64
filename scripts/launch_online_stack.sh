#!/bin/sh
# Start the Py-Polymarket stack (trader, monitor, order tracker with API keys) in the background:
# a thin wrapper over `polymarket-launch stack start` (docs/OPERATIONS.md), run from the
# repository root. Both spellings work:
#   scripts/launch_online_stack.sh --port 8888 --interval 60 --use-ws --open-browser [--live]
#   scripts/launch_online_stack.sh -Port 8888 -Interval 60 -UseWs -OpenBrowser [-Live]
# Other options (--timeout, --log-level, --no-use-ws) are passed through.
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

PORT=8888
INTERVAL=60
set --  "$@" --end-of-options--
while [ "$1" != "--end-of-options--" ]; do
  opt=$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')
  case "$opt" in
    --port=*|-port=*) PORT=${1#*=} ;;
    --port|-port) need_value "$1" "$2"; PORT=$2; shift ;;
    --interval=*|-interval=*) INTERVAL=${1#*=} ;;
    --interval|-interval) need_value "$1" "$2"; INTERVAL=$2; shift ;;
    --use-ws|-usews) set -- "$@" --use-ws ;;
    --no-use-ws|-nousews) set -- "$@" --no-use-ws ;;
    --open-browser|-openbrowser) set -- "$@" --open-browser ;;
    --live|-live) set -- "$@" --live ;;
    -h|--help|-help) sed -n '2,7p' "$SELF"; exit 0 ;;
    *) set -- "$@" "$1" ;;
  esac
  shift
done
shift  # the marker
exec "$PY" -m polymarket_bot stack start --port "$PORT" --interval "$INTERVAL" "$@"
