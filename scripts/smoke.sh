#!/usr/bin/env bash
# Smoke run of a branch under test: bootstrap, then check the order in which the status page and
# the login page first answered, LOGIN_READY, background reporting and the Temporal fixes.
#
#   scripts/smoke.sh --node-ip 192.168.64.8 [--release-version 1.0-rc5] [--site-id ID] [-- extra bootstrap flags]
#   scripts/smoke.sh --lab [--scenario healthy] [--speed 20]      # the same checks against the lab (CI)
#
# On hardware it runs `appliance bootstrap --branch-override current` (the checked-out branch must be
# pushed: Flux reads the remote). Exit 0 when every check passes; the report says which one failed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
appliance="${APPLIANCE:-$here/.venv/bin/appliance}"
python="${PYTHON:-$here/.venv/bin/python}"
release="1.0-rc5"
site=""
node_ip=""
lab=0
scenario="healthy"
speed="20"
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --node-ip) node_ip="$2"; shift 2 ;;
    --release-version) release="$2"; shift 2 ;;
    --site-id) site="$2"; shift 2 ;;
    --lab) lab=1; shift ;;
    --scenario) scenario="$2"; shift 2 ;;
    --speed) speed="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "smoke.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

home="${ALGA_APPLIANCE_HOME:-$HOME/.alga-psa-appliance}"
if [[ $lab == 1 ]]; then
  site="${site:-lab}"
  node_ip="127.0.0.1"
  "$appliance" lab up --site-id "$site" --scenario "$scenario" --speed "$speed"
  trap '"$appliance" lab down --site-id "$site" >/dev/null 2>&1 || true' EXIT
  read -r status_url login_url < <("$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["statusUrl"], d["loginUrl"])' "$home/$site/lab.json")
  source_flags=()
else
  [[ -n $node_ip ]] || { echo "smoke.sh: --node-ip is required (or --lab)" >&2; exit 2; }
  site="${site:-appliance-single-node}"
  status_url="http://$node_ip:8080"
  login_url="http://$node_ip:3000"
  source_flags=(--branch-override current)
fi

work="$(mktemp -d)"
started="$(date +%s.%N)"
# Record when each URL first answers (any HTTP answer from a server; login: 2xx/3xx).
probe() {  # name url accept-regex
  local name="$1" url="$2" accept="$3" code
  while true; do
    code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" || true)"
    if [[ $code =~ $accept ]]; then
      echo "$(date +%s.%N) $code" > "$work/$name"
      return
    fi
    sleep 1
  done
}
probe status "$status_url/healthz" '^200$' & p1=$!
probe login "$login_url" '^(2|3)[0-9][0-9]$' & p2=$!
trap 'kill $p1 $p2 2>/dev/null || true; [[ $lab == 1 ]] && "$appliance" lab down --site-id "$site" >/dev/null 2>&1 || true' EXIT

set +e
"$appliance" bootstrap --site-id "$site" --bootstrap-mode fresh --release-version "$release" \
  --node-ip "$node_ip" --progress plain "${source_flags[@]}" "${extra[@]}" | tee "$work/bootstrap.log"
rc=${PIPESTATUS[0]}
set -e
# Give the probes a last chance (bounded) once bootstrap returned.
for _ in $(seq 1 20); do [[ -f $work/status && -f $work/login ]] && break; sleep 0.5; done
kill $p1 $p2 2>/dev/null || true

"$appliance" status --site-id "$site" --json > "$work/status.json" || true
"$python" - "$work" "$started" "$rc" <<'PY'
import json, sys
from pathlib import Path

work, started, rc = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
def first(name):
    p = work / name
    return float(p.read_text().split()[0]) - started if p.is_file() else None
status_at, login_at = first("status"), first("login")
doc = json.loads((work / "status.json").read_text() or "{}")
codes = {b["code"] for b in doc.get("topBlockers", [])}
checks = {
    "bootstrap exit 0 (login possible)": rc == 0,
    "status page answered": status_at is not None,
    "login page answered": login_at is not None,
    "status page answered before login": status_at is not None and (login_at is None or status_at < login_at),
    "LOGIN_READY": doc.get("tiers", {}).get("login", {}).get("ready") is True,
    "background reported": "background" in doc.get("tiers", {}),
    "no temporal_schema_uninitialized": "temporal_schema_uninitialized" not in codes,
    "no service_link_collision": "service_link_collision" not in codes,
}
fmt = lambda t: "-" if t is None else f"{t:.1f}s"
print(f"status page first answered after {fmt(status_at)}, login after {fmt(login_at)}")
print(f"rollup: {doc.get('rollup', {}).get('state')}; blockers: {', '.join(sorted(codes)) or 'none'}")
for name, ok in checks.items():
    print(f"{'PASS' if ok else 'FAIL'}  {name}")
sys.exit(0 if all(checks.values()) else 1)
PY
