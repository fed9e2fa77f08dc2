#!/usr/bin/env bash
# Sets up this machine for ACORN: virtualenv + packages, Mosquitto, and (for tests) Chromium/socat.
# Usage: deploy/scripts/setup.sh [run|test]   — idempotent; installs system packages only as root.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODE="${1:-run}"
VENV=.venv

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
need_root_for() {
  say "missing: $1"
  say "install it with:  sudo apt-get install -y $2   (then run make again)"
  exit 1
}
APT_UPDATED=0
apt_install() {
  if [ "$(id -u)" -ne 0 ]; then need_root_for "$1" "$2"; fi
  if ! command -v apt-get >/dev/null; then
    say "missing: $1 and this is not a Debian/Ubuntu machine; install $2 with your package manager"
    exit 1
  fi
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"; DEBIAN_FRONTEND=noninteractive apt-get update -qq; APT_UPDATED=1
  fi
  say "apt-get install $2"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $2 >/dev/null
}

PY=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    PY="$candidate"; break
  fi
done
[ -n "$PY" ] || { apt_install "Python 3.11+" "python3 python3-venv"; PY=python3; }
if ! "$PY" -c 'import venv, ensurepip' 2>/dev/null; then apt_install "python3-venv" "python3-venv"; fi

command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || apt_install "Mosquitto MQTT broker" "mosquitto"
command -v mosquitto_ctrl >/dev/null || apt_install "mosquitto_ctrl (dynamic security)" "mosquitto"
command -v socat >/dev/null || apt_install "socat (serial scanner stand-in)" "socat"
command -v sqlite3 >/dev/null || apt_install "sqlite3 shell (acorn-edge recover)" "sqlite3"
if [ "$MODE" = test ]; then
  [ -x /usr/bin/chromium ] || apt_install "Chromium (browser tests)" "chromium"
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtualenv $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.acorn-$MODE-stamp"
# (and for tests: a virtualenv made before pytest-xdist joined the test extras; make test uses it)
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ] \
   || { [ "$MODE" = test ] && ! "$VENV/bin/python" -c 'import xdist' 2>/dev/null; }; then
  say "installing Python packages ($MODE)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  if [ "$MODE" = test ]; then
    "$VENV/bin/python" -m pip install -q -e '.[test]'
  else
    "$VENV/bin/python" -m pip install -q -e .
  fi
  touch "$STAMP"
fi
# python-escpos's printer database, cached once here for `make run` and `make test` (the Makefile
# points ESCPOS_CAPABILITIES_PICKLE_DIR at it): private, since it is a pickle read at import, and
# written before they start, so that no process reads it half-written by another
mkdir -p "$VENV/escpos-cache" && chmod 700 "$VENV/escpos-cache"
ESCPOS_CAPABILITIES_PICKLE_DIR="$PWD/$VENV/escpos-cache" "$VENV/bin/python" -c 'import escpos.capabilities'
say "ready ($MODE)"
