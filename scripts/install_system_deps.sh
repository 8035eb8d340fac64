#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (run as root; skipped when all are present).
# `--python /usr/bin/python3.X`: only what a venv on that interpreter needs (venv, headers for
# the compiled kernel); nothing for another interpreter (e.g. pyenv's).
set -euo pipefail
PKGS=(python3-venv chromium mariadb-server)
if [ "${1:-}" = "--python" ]; then
  case "${2:-}" in
    /usr/bin/python3.*) PKGS=("$(basename "$2")-venv" "$(basename "$2")-dev") ;;
    *) exit 0 ;;
  esac
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]} (run as root: apt-get install ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
