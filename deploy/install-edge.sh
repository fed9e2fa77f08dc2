#!/usr/bin/env bash
# Install the ACORN edge agent on a store mini-PC (Debian 12 / Ubuntu 22.04 or newer).
#
#   sudo ./deploy/install-edge.sh            # from an unpacked ACORN release or checkout
#
# What it does, and again on every re-run without changing what is already right:
#   - system packages: python3 (3.11+), python3-venv, sqlite3 (acorn-edge recover), ca-certificates
#   - a system user and group `acorn` (no login, no home outside its data folder)
#   - /var/lib/acorn        the agent's data folder (database, outbox journal, identity/ and
#                           edge.env, the settings enrolment or pairing wrote), acorn 0750
#   - /etc/acorn/edge.env   the technician's settings (ACORN_EDGE_*), root:acorn 0640; kept as
#                           it is if present; the agent only reads it
#   - /opt/acorn/venv       a virtualenv with ACORN installed from SOURCE
#   - /etc/systemd/system/acorn-edge.service  hardened unit, enabled and (re)started: with no
#                           identity yet the agent shows a pairing code (counter page, printer, log)
#   - /usr/local/bin/acorn-store  the technician's commands: enrol, code, check, status
# The README's "Technician: set up a store machine" section is the page to follow.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SOURCE="$(cd "$HERE/.." && pwd)"
PREFIX=""
SYSTEMD=1
PACKAGES=1
VENV=1
ACCOUNT=1

usage() {
  cat <<'USAGE'
Usage: sudo deploy/install-edge.sh [options]

Install (or bring up to date) the ACORN edge agent on this store machine. Safe to run again.

Options:
  --source PATH   what to install: an ACORN checkout/release folder or a wheel file
                  (default: the folder this script belongs to)
  --prefix DIR    install under DIR instead of / (for packaging and tests); implies
                  --no-systemd --no-packages --no-user
  --no-systemd    do not install, enable or reload the systemd unit's service
  --no-packages   do not apt-get install the system packages
  --no-user       do not create the acorn user or change owners
  --no-venv       do not create the virtualenv or install ACORN into it
  -h, --help      this text

After it the agent runs and shows a pairing code (counter page http://127.0.0.1:8081,
the receipt printer if ACORN_EDGE_PRINTER_URL is set, `sudo acorn-store code`): enter it on
the HQ desk. Or: sudo acorn-store enrol 'acorn://enrol?...'   (a code HQ gave you)
Then:            sudo acorn-store check
USAGE
}

say() { printf '[acorn-install] %s\n' "$*"; }
fail() { printf 'acorn-install: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --source) [ $# -ge 2 ] || fail "--source needs a path"; SOURCE="$2"; shift 2 ;;
    --prefix) [ $# -ge 2 ] || fail "--prefix needs a folder"; PREFIX="${2%/}"
              SYSTEMD=0; PACKAGES=0; ACCOUNT=0; shift 2 ;;
    --no-systemd) SYSTEMD=0; shift ;;
    --no-packages) PACKAGES=0; shift ;;
    --no-user) ACCOUNT=0; shift ;;
    --no-venv) VENV=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; fail "unknown option: $1" ;;
  esac
done

if [ -z "$PREFIX" ] && [ "$(id -u)" -ne 0 ]; then
  fail "run it as root (sudo $0), or give --prefix DIR to install into a folder"
fi
if [ "$VENV" = 1 ] && [ ! -f "$SOURCE/pyproject.toml" ] && [[ "$SOURCE" != *.whl ]]; then
  fail "--source $SOURCE is neither an ACORN folder (with pyproject.toml) nor a wheel"
fi

OPT="$PREFIX/opt/acorn"
DATA="$PREFIX/var/lib/acorn"
ETC="$PREFIX/etc/acorn"
UNIT_DIR="$PREFIX/etc/systemd/system"
BIN="$PREFIX/usr/local/bin"

# -- system packages ---------------------------------------------------------------------------
if [ "$PACKAGES" = 1 ]; then
  command -v apt-get >/dev/null || fail "this is not a Debian/Ubuntu machine: install python3 (3.11+), python3-venv and sqlite3 yourself, then run with --no-packages"
  missing=()
  for pkg in python3 python3-venv sqlite3 ca-certificates; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# -- the acorn user ----------------------------------------------------------------------------
if [ "$ACCOUNT" = 1 ]; then
  if ! getent group acorn >/dev/null; then say "group acorn"; groupadd --system acorn; fi
  if ! id -u acorn >/dev/null 2>&1; then
    say "user acorn"
    useradd --system --gid acorn --home-dir /var/lib/acorn --no-create-home \
            --shell /usr/sbin/nologin --comment "ACORN edge agent" acorn
  fi
  # scanners and printers; the unit's SupplementaryGroups= names all four, and systemd refuses
  # to start a unit naming a group that does not exist (a minimal system may lack input/plugdev)
  for group in dialout input lp plugdev; do
    getent group "$group" >/dev/null || { say "group $group"; groupadd --system "$group"; }
    id -nG acorn | tr ' ' '\n' | grep -qx "$group" || usermod -a -G "$group" acorn
  done
fi

# -- folders and the settings file -------------------------------------------------------------
own() {  # own OWNER:GROUP MODE PATH: set only what differs
  if [ "$ACCOUNT" = 1 ] && [ "$(stat -c %U:%G "$3")" != "$1" ]; then chown "$1" "$3"; fi
  if [ "$(stat -c %a "$3")" != "$2" ]; then chmod "$2" "$3"; fi
}
mkdir -p "$OPT" "$DATA" "$ETC" "$UNIT_DIR" "$BIN"
own acorn:acorn 750 "$DATA"
own root:acorn 750 "$ETC"
if [ ! -f "$ETC/edge.env" ]; then
  say "settings $ETC/edge.env"
  cat > "$ETC/edge.env" <<'ENV'
# ACORN edge agent settings (ACORN_EDGE_*; README "Settings"), read by the agent, never written
# by it: what enrolment or pairing decides (store, node, broker, certificate, the store's
# settings) goes into /var/lib/acorn/edge.env; a line here wins over the same line there.
ACORN_EDGE_DATA_DIR="/var/lib/acorn"
# the hub a new machine pairs with (unset: the one hub of the fleet found on the network)
# ACORN_EDGE_HUB_URL="https://hub.example:8080"
# ACORN_EDGE_HUB_CA_FINGERPRINT="sha256 of the fleet CA, as the desk shows it"
# the counter page and local API; 0.0.0.0 to serve the store's tablets over the LAN
ACORN_EDGE_HTTP_HOST="127.0.0.1"
# ACORN_EDGE_PRINTER_URL="tcp://192.168.1.50:9100"
# ACORN_EDGE_SCANNER_URL="/dev/ttyACM0"
ENV
fi
own root:acorn 640 "$ETC/edge.env"  # the agent reads it; enrolment writes /var/lib/acorn/edge.env

# What enrolment or pairing writes: /var/lib/acorn/edge.env. An install older than this one had
# `acorn-store enrol` write it into /etc/acorn/edge.env: move those lines (the identity, broker
# and store settings enrolment decides), so that a new enrolment is not overruled by them.
ENROLLED="$DATA/edge.env"
if [ ! -f "$ENROLLED" ]; then
  decided='^(# written by acorn-edge enrol$|ACORN_EDGE_(STORE_ID|NODE_ID|HUB_URL|MQTT_HOST|MQTT_PORT|MQTT_TLS_CA_FILE|MQTT_TLS_CERT_FILE|MQTT_TLS_KEY_FILE|STORE_NAME|STORE_TIMEZONE|CURRENCY|STORE_LANGUAGE|PRINTER_PAPER)=)'
  {
    echo "# what enrolment or pairing decided for this machine (acorn-edge writes it; the same"
    echo "# line in /etc/acorn/edge.env wins)"
    grep -E "$decided" "$ETC/edge.env" || true
  } > "$ENROLLED.new"
  if grep -qE '^ACORN_EDGE_' "$ENROLLED.new"; then
    say "moving what enrolment wrote from $ETC/edge.env to $ENROLLED"
    grep -vE "$decided" "$ETC/edge.env" > "$ETC/edge.env.new" || true
    cat "$ETC/edge.env.new" > "$ETC/edge.env" && rm "$ETC/edge.env.new"
  else
    say "settings $ENROLLED"
  fi
  mv "$ENROLLED.new" "$ENROLLED"
fi
own acorn:acorn 640 "$ENROLLED"

# -- the virtualenv ----------------------------------------------------------------------------
if [ "$VENV" = 1 ]; then
  PY=""
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      PY="$candidate"; break
    fi
  done
  [ -n "$PY" ] || fail "Python 3.11 or newer is needed"
  [ -x "$OPT/venv/bin/python" ] || { say "virtualenv $OPT/venv"; "$PY" -m venv "$OPT/venv"; }
  say "installing ACORN from $SOURCE"
  "$OPT/venv/bin/python" -m pip install -q --upgrade "$SOURCE"
  [ -x "$OPT/venv/bin/acorn-edge" ] || fail "the install did not give $OPT/venv/bin/acorn-edge"
fi

# -- the technician's command ------------------------------------------------------------------
cat > "$BIN/acorn-store.new" <<'TOOL'
#!/bin/sh
# acorn-store: the technician's commands on a store machine (from deploy/install-edge.sh).
# They see the settings the service sees: /etc/acorn/edge.env in the environment (as systemd's
# EnvironmentFile=), then /var/lib/acorn/edge.env (what enrolment or pairing wrote).
set -eu
EDGE=/opt/acorn/venv/bin/acorn-edge
SETTINGS=/etc/acorn/edge.env
ENROLLED=/var/lib/acorn/edge.env
SERVICE=acorn-edge.service
export ACORN_EDGE_LAUNCHER=acorn-store  # acorn-edge then names acorn-store's next step
as_acorn() { if [ "$(id -un)" = acorn ]; then "$@"; else runuser -u acorn -- "$@"; fi; }
load_settings() {  # ACORN_EDGE_* lines of $SETTINGS into the environment, quotes removed
  [ -r "$SETTINGS" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    key="${line%%=*}"; value="${line#*=}"
    case "$key" in ACORN_EDGE_*) ;; *) continue ;; esac
    case "$value" in
      \"*\") value="${value#\"}"; value="${value%\"}" ;;
      \'*\') value="${value#\'}"; value="${value%\'}" ;;
    esac
    export "$key=$value"
  done < "$SETTINGS"
}
enrolled() {
  grep -qE '^ACORN_EDGE_(STORE_ID|MQTT_TLS_CERT_FILE)=' "$ENROLLED" "$SETTINGS" 2>/dev/null && return 0
  echo "this machine has not joined the fleet yet: enter the pairing code (sudo acorn-store code)" >&2
  echo "on the HQ desk, or run: sudo acorn-store enrol 'acorn://enrol?...'" >&2
  exit 1
}
load_settings
case "${1:-}" in
  enrol|enroll)
    shift
    [ $# -ge 1 ] || { echo "usage: acorn-store enrol 'acorn://enrol?...' (or CODE --hub URL)" >&2; exit 2; }
    # the service, if it is pairing, withdraws its code; it starts again whatever enrol says
    systemctl stop "$SERVICE" >/dev/null 2>&1 || true
    status=0
    as_acorn "$EDGE" enrol --data-dir /var/lib/acorn --settings-file "$ENROLLED" "$@" || status=$?
    systemctl enable "$SERVICE" >/dev/null 2>&1 || true
    systemctl restart "$SERVICE"
    [ "$status" = 0 ] || exit "$status"
    echo "acorn-edge started: the counter page is http://127.0.0.1:8081 (next: sudo acorn-store check)"
    ;;
  code)
    "$EDGE" pairing-code
    ;;
  check)
    enrolled
    as_acorn "$EDGE" status --config "$ENROLLED"
    as_acorn "$EDGE" devices --config "$ENROLLED"
    as_acorn "$EDGE" print-test --config "$ENROLLED"
    ;;
  status)
    enrolled
    as_acorn "$EDGE" status --config "$ENROLLED"
    ;;
  recover)
    shift
    enrolled
    as_acorn "$EDGE" recover --config "$ENROLLED" "$@"
    ;;
  *)
    echo "usage: acorn-store enrol CODE | code | check | status | recover [FILE] [--hub-has SEQ]" >&2
    echo "  enrol  join the store HQ gave a code for, and start the agent" >&2
    echo "  code   the pairing code this machine shows until it is paired (enter it on the desk)" >&2
    echo "  check  agent and broker state, devices found, a printed test page" >&2
    echo "  recover  salvage a damaged or a replaced machine's edge.db (acorn-edge recover --help)" >&2
    exit 2
    ;;
esac
TOOL
chmod 755 "$BIN/acorn-store.new"
if cmp -s "$BIN/acorn-store.new" "$BIN/acorn-store"; then rm "$BIN/acorn-store.new"
else mv "$BIN/acorn-store.new" "$BIN/acorn-store"; say "command $BIN/acorn-store"; fi

# -- the systemd unit --------------------------------------------------------------------------
if ! cmp -s "$HERE/systemd/acorn-edge.service" "$UNIT_DIR/acorn-edge.service"; then
  say "unit $UNIT_DIR/acorn-edge.service"
  install -m 644 "$HERE/systemd/acorn-edge.service" "$UNIT_DIR/acorn-edge.service"
  UNIT_CHANGED=1
else
  UNIT_CHANGED=0
fi
if [ "$SYSTEMD" = 1 ]; then
  [ "$UNIT_CHANGED" = 0 ] || systemctl daemon-reload
  systemctl enable acorn-edge.service >/dev/null 2>&1
  # started with or without an identity: without, it shows the pairing code until paired
  systemctl restart acorn-edge.service
fi

if grep -qE '^ACORN_EDGE_(STORE_ID|MQTT_TLS_CERT_FILE)=' "$ENROLLED" "$ETC/edge.env"; then
  say "done. This machine is enrolled; next: sudo acorn-store check"
else
  say "done. Next: enter the pairing code (counter page http://127.0.0.1:8081, the receipt printer, or: sudo acorn-store code) on the HQ desk, or: sudo acorn-store enrol 'acorn://enrol?...'   then: sudo acorn-store check"
fi
