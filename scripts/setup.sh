#!/usr/bin/env bash
# Set up what the tool and its tests need on a fresh Debian machine:
#   .venv with the package (editable) and its dev tools,
#   and, with --test-deps, the real programs the tests drive (OCI registry, Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test_deps=0
[[ "${1:-}" == "--test-deps" ]] && want_test_deps=1

PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  echo "[setup] creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [[ ! -f "$stamp" ]]; then
  echo "[setup] installing the package and dev tools into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

if (( want_test_deps )); then
  missing=()
  command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v git >/dev/null 2>&1 || missing+=(git)
  if (( ${#missing[@]} )); then
    echo "[setup] installing Debian packages: ${missing[*]}"
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v kubectl >/dev/null 2>&1 || echo "[setup] note: kubectl not found; kubectl fidelity tests will fail with a clear message"
fi
