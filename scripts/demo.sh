#!/usr/bin/env bash
# A live bootstrap against the lab: start it, bootstrap to LOGIN_READY with the status URL and
# token, show the status, stop the lab.   scripts/demo.sh [--scenario healthy] [--speed 5]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
appliance="${APPLIANCE:-$here/.venv/bin/appliance}"
scenario="healthy"
speed="5"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scenario) scenario="$2"; shift 2 ;;
    --speed) speed="$2"; shift 2 ;;
    *) echo "demo.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ -z "${APPLIANCE:-}" ]]; then
  bash "$here/scripts/setup.sh"   # .venv with the package, once
fi
"$appliance" lab up --scenario "$scenario" --speed "$speed"
trap '"$appliance" lab down >/dev/null 2>&1 || true' EXIT
set +e
"$appliance" bootstrap --site-id lab --bootstrap-mode fresh --release-version 1.0-rc5 --node-ip 127.0.0.1
rc=$?
set -e
"$appliance" status --site-id lab || true
exit $rc
