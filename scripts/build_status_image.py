#!/usr/bin/env python3
"""Build the status service image ``ghcr.io/nine-minds/alga-appliance-status:<version>``.

No container engine: the root filesystem comes from Debian packages (``mmdebstrap``), the
package and its pinned runtime dependencies go into a venv inside it (run in that root
filesystem with ``bwrap``, so the venv's interpreter is the image's own ``/usr/bin/python3``),
and ``umoci`` writes an OCI image layout. Two layers:

1. Debian bookworm (``python3``, ``ca-certificates``; no apt, no docs, no device nodes),
   cached under ``.cache/status-image/`` keyed by its inputs;
2. ``/opt/appliance`` (the venv and the release manifests) and ``/etc/passwd`` /
   ``/etc/group`` with the ``appliance`` user, uid/gid 10001.

Reproducible: every timestamp is ``SOURCE_DATE_EPOCH`` (default: the last commit's time; the
Debian layer uses the last commit of this recipe and its lock file, so it is cached across
other commits), Python bytecode is hash-based, both layers are written in a fixed order with
fixed owners, and the image config carries no history and a fixed creation time. The same
inputs and the same Debian archive give the same manifest digest.

Usage (as root, with Python 3.11; needs the Debian packages mmdebstrap, umoci, bubblewrap and
git: ``bash scripts/setup.sh --test-deps``; exit 2 naming them when one is missing)::

    .venv/bin/python scripts/build_status_image.py                  # -> build/status-image
    .venv/bin/python scripts/build_status_image.py --output DIR --json
    .venv/bin/python scripts/build_status_image.py --update-lock    # re-pin the wheels

Push with ``skopeo copy oci:build/status-image:<version> docker://<registry>/<path>:<version>``
(docs/status-service.md, "Building the image").
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
LOCK_FILE = ROOT / "scripts" / "build_status_image.lock.txt"
RECIPE_FILES = ("scripts/build_status_image.py", "scripts/build_status_image.lock.txt")

REPOSITORY = "ghcr.io/nine-minds/alga-appliance-status"
PACKAGE = "alga-appliance-cli"

# -- the image contract (the status Deployment in flux/base/platform/appliance-status.yaml
#    runs it as this user, read-only root filesystem, /tmp an emptyDir)
UID = GID = 10001
USER_NAME = "appliance"
VENV = "/opt/appliance/venv"
RELEASES_DIR = "/opt/appliance/releases"
PORT = 8080  # HTTPS with the mounted certificate (plain HTTP without one)
HTTP_PORT = 8081  # plain HTTP: /healthz and a redirect to HTTPS (serve-status's default)
# The Dockerfile's entrypoint (no Cmd, so `docker run IMAGE --host …` adds flags). The Deployment
# sets command and args to the same program and flags plus `--host 0.0.0.0`, which is also the
# in-cluster default (a test holds the three together).
ENTRYPOINT = ("appliance", "serve-status", "--in-cluster", "--port", str(PORT))
ENV = (
    f"PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "PYTHONDONTWRITEBYTECODE=1",
    "PYTHONUNBUFFERED=1",
    f"ALGA_APPLIANCE_RELEASES_DIR={RELEASES_DIR}",
    "ALGA_APPLIANCE_HOME=/tmp/appliance-home",
)

# -- the Debian layer
SUITE = "bookworm"
VARIANT = "essential"  # Essential: yes packages only (no apt in the image)
PACKAGES = ("python3", "ca-certificates")
IMAGE_PYTHON = (3, 11)  # bookworm's python3 (3.11.2): the lock's cp311 wheels are for it
MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
DPKG_OPTS = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/lintian/*",
)
# dropped from the Debian layer: the runtime provides /dev; the host's resolver and name
# must not leak into the image (mmdebstrap copies them in)
BASE_DROP_UNDER = ("dev/",)
BASE_DROP = ("etc/resolv.conf", "etc/hostname")

# The lock's lines after this marker build the package's wheel (its [build-system]
# requirements); they are not installed in the image. pip runs from its own locked wheel.
BUILD_ONLY_MARKER = "# -- build only"
BUILD_REQUIREMENTS = ("setuptools", "wheel")
# program -> the Debian package that ships it
TOOLS = {"mmdebstrap": "mmdebstrap", "umoci": "umoci", "bwrap": "bubblewrap", "git": "git", "dpkg": "dpkg"}


class MissingTools(Exception):
    """A program the build runs is not installed (exit 2)."""


class BuildError(Exception):
    pass


def log(message: str) -> None:
    print(f"[status-image] {message}", file=sys.stderr, flush=True)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without pip's own settings (``PIP_FIND_LINKS`` and the like would
    change what gets installed), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


def run(cmd: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-20:])
        raise BuildError(f"{cmd[0]} failed (exit {proc.returncode}): {' '.join(cmd[:6])} ...\n{tail}")
    return proc.stdout


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def git_epoch(*paths: str) -> int:
    out = run(["git", "log", "-1", "--format=%ct", "--", *paths], cwd=ROOT).strip()
    if not out:  # paths not committed yet: the last commit's time
        out = run(["git", "log", "-1", "--format=%ct"], cwd=ROOT).strip()
    return int(out)


def package_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Inputs:
    version: str
    arch: str  # Debian architecture of this machine (mmdebstrap builds for it)
    epoch: int  # the app layer and the image config
    base_epoch: int  # the Debian layer
    cache: Path
    output: Path

    @property
    def tag(self) -> str:
        return self.version

    @property
    def reference(self) -> str:
        return f"{REPOSITORY}:{self.version}"

    def base_key(self, mmdebstrap_version: str) -> str:
        doc = {
            "suite": SUITE,
            "variant": VARIANT,
            "arch": self.arch,
            "packages": PACKAGES,
            "mirrors": MIRRORS,
            "dpkg": DPKG_OPTS,
            "drop": [BASE_DROP_UNDER, BASE_DROP],
            "epoch": self.base_epoch,
            "mmdebstrap": mmdebstrap_version,
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- Debian layer


def _base_filter(member: tarfile.TarInfo) -> bool:
    name = member.name.removeprefix("./")
    if name in BASE_DROP:
        return False
    return not any(name.startswith(prefix) for prefix in BASE_DROP_UNDER)


def build_base(inputs: Inputs) -> tuple[Path, Path]:
    """The Debian layer as an uncompressed tar and as an extracted tree (both cached)."""
    mm_version = run(["mmdebstrap", "--version"]).strip()
    key = inputs.base_key(mm_version)
    layer = inputs.cache / f"base-{key}.tar"
    tree = inputs.cache / f"base-{key}"
    if layer.exists() and (tree / ".complete").exists():
        log(f"Debian layer: cached ({layer.name})")
        return layer, tree
    for stale in inputs.cache.glob("base-*"):
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    inputs.cache.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=inputs.cache, prefix="tmp-base-") as tmp:
        raw = Path(tmp) / "debian.tar"
        cmd = [
            "mmdebstrap",
            "--quiet",
            "--mode=root",
            f"--variant={VARIANT}",
            f"--architectures={inputs.arch}",
            f"--include={','.join(PACKAGES)}",
            "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
            *(f"--dpkgopt={opt}" for opt in DPKG_OPTS),
            "--format=tar",
            SUITE,
            str(raw),
            *MIRRORS,
        ]
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(inputs.base_epoch)}
        log(f"Debian layer: mmdebstrap {SUITE}/{inputs.arch} ({', '.join(PACKAGES)}), about a minute ...")
        run(cmd, env=env)
        partial = layer.with_suffix(".tar.partial")
        with tarfile.open(raw) as src, tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as dst:
            for member in src:
                if not _base_filter(member):
                    continue
                member.pax_headers = {}
                fh = src.extractfile(member) if member.isreg() else None
                dst.addfile(member, fh)
        partial.rename(layer)
        tree_partial = Path(tmp) / "tree"
        tree_partial.mkdir()
        run(["tar", "-xpf", str(layer), "--numeric-owner", "-C", str(tree_partial)])
        (tree_partial / ".complete").touch()
        tree_partial.rename(tree)
    log(f"Debian layer: built in {time.monotonic() - started:.0f}s ({layer.stat().st_size // 2**20} MiB)")
    return layer, tree


# --------------------------------------------------------------------------- wheels


def runtime_closure() -> dict[str, str]:
    """Name → installed version of every runtime dependency of the package (no extras)."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    todo = [Requirement(PACKAGE)]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in pins:
            continue
        try:
            dist = distribution(req.name)
        except PackageNotFoundError as exc:
            raise BuildError(f"{req.name} is not installed in this venv; run scripts/setup.sh") from exc
        pins[name] = dist.version
        for text in dist.requires or []:
            dep = Requirement(text)
            if dep.marker is None or dep.marker.evaluate({"extra": ""}):
                todo.append(dep)
    pins.pop(canonicalize_name(PACKAGE))
    return dict(sorted(pins.items()))


def _pip(*args: str) -> list[str]:
    return [sys.executable, "-m", "pip", *args]


def _lock_line(wheel: Path) -> str:
    name, version = wheel.name.split("-")[:2]
    return f"{name.lower().replace('_', '-')}=={version} --hash=sha256:{sha256_file(wheel)}\n"


def update_lock(cache: Path) -> None:
    """Pin the runtime closure installed here, pip, and the package's build requirements
    (the newest releases when the lock is written) with the hashes of their wheels."""
    import pip

    pins = runtime_closure()
    pins["pip"] = pip.__version__  # runs from its wheel to install the others
    download = _pip("download", "-q", "--only-binary=:all:", "--no-cache-dir")
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        runtime, build = Path(tmp) / "runtime", Path(tmp) / "build"
        reqs = Path(tmp) / "req.txt"
        reqs.write_text("".join(f"{n}=={v}\n" for n, v in pins.items()))
        log("lock: pip download of the runtime wheels ...")
        run([*download, "--no-deps", "-r", str(reqs), "-d", str(runtime)], env=clean_env())
        run([*download, *BUILD_REQUIREMENTS, "-d", str(build)], env=clean_env())
        lines = [
            "# The wheels of the status image: its runtime dependencies, pinned with hashes.\n",
            "# Regenerate with: .venv/bin/python scripts/build_status_image.py --update-lock\n",
            *(_lock_line(w) for w in sorted(runtime.glob("*.whl"))),
            f"{BUILD_ONLY_MARKER}: they build the package's wheel, and are not in the image\n",
            *(_lock_line(w) for w in sorted(build.glob("*.whl"))),
        ]
    LOCK_FILE.write_text("".join(lines))
    log(f"wrote {LOCK_FILE.relative_to(ROOT)} ({len(lines) - 3} wheels)")


def build_only_wheels() -> set[str]:
    """Wheel-name prefixes (``name-version-``) of the lock's build-only section."""
    text = LOCK_FILE.read_text()
    if BUILD_ONLY_MARKER not in text:
        raise BuildError(f"{LOCK_FILE.name} has no '{BUILD_ONLY_MARKER}' section; run --update-lock")
    tail = text.split(BUILD_ONLY_MARKER, 1)[1].splitlines()[1:]
    pins = [line.split()[0].split("==") for line in tail if line.strip() and not line.startswith("#")]
    return {f"{name.replace('-', '_')}-{version}-" for name, version in pins}


def fetch_wheels(inputs: Inputs, dest: Path) -> None:
    """The locked runtime wheels and pip (cached by the lock's hash) into ``dest``, and a wheel
    of the package itself, built offline from the locked build requirements."""
    store = inputs.cache / f"wheels-{sha256_file(LOCK_FILE)[:16]}"
    if not (store / ".complete").exists():
        for stale in inputs.cache.glob("wheels-*"):
            shutil.rmtree(stale)
        store.mkdir(parents=True)
        log("wheels: pip download (locked, hash-checked) ...")
        download = _pip("download", "-q", "--no-deps", "--only-binary=:all:", "--no-cache-dir")
        run([*download, "--require-hashes", "-r", str(LOCK_FILE), "-d", str(store)], env=clean_env())
        (store / ".complete").touch()
    build_only = build_only_wheels()
    for wheel in sorted(store.glob("*.whl")):
        if not wheel.name.lower().startswith(tuple(p.lower() for p in build_only)):
            shutil.copy2(wheel, dest / wheel.name)
    # the package, from the files git tracks (plus new files not ignored), in a private copy
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT)
    wanted = ("pyproject.toml", "README.md", "appliance_cli/")
    log("wheels: the package's own wheel (offline) ...")
    with tempfile.TemporaryDirectory(dir=inputs.cache, prefix="tmp-src-") as src:
        for rel in sorted(set(listed.split("\0"))):
            if rel and rel.startswith(wanted) and (ROOT / rel).is_file():
                target = Path(src) / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, target)
        # an isolated build environment from the locked build requirements only
        pip_wheel = _pip(
            "wheel", "-q", "--no-deps", "--no-index", "--no-cache-dir", "--find-links", str(store)
        )
        run([*pip_wheel, "-w", str(dest), src], env=clean_env(SOURCE_DATE_EPOCH=str(inputs.epoch)))


# --------------------------------------------------------------------------- app layer


# where the wheels are seen inside the build sandbox: under its tmpfs /tmp, because bwrap
# cannot create a mount point in the read-only Debian tree
WHEELS_AT = "/tmp/wheels"


def bwrap(
    tree: Path, binds: Sequence[tuple[str, Path, str]], argv: Sequence[str], env: dict[str, str]
) -> None:
    cmd = ["bwrap", "--ro-bind", str(tree), "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for kind, src, dst in binds:
        cmd += [kind, str(src), dst]
    cmd += ["--unshare-all", "--die-with-parent", "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    run([*cmd, "--", *argv])


def build_app(inputs: Inputs, tree: Path, work: Path) -> Path:
    """``/opt/appliance`` (venv + releases) and the user, as the second layer's tree; the
    wheels are already in ``work/wheels`` (``fetch_wheels``)."""
    python = f"usr/bin/python{'.'.join(map(str, IMAGE_PYTHON))}"
    if not (tree / python).is_file():
        raise BuildError(f"the Debian layer has no /{python}; IMAGE_PYTHON and the lock need an update")
    wheels = work / "wheels"
    opt = work / "opt"
    (opt / "appliance").mkdir(parents=True)
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "SOURCE_DATE_EPOCH": str(inputs.epoch),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    binds = [("--ro-bind", wheels, WHEELS_AT), ("--bind", opt, "/opt")]
    (pip_wheel,) = wheels.glob("pip-*.whl")  # runs pip; not installed
    install = sorted(f"{WHEELS_AT}/{w.name}" for w in wheels.glob("*.whl") if w != pip_wheel)
    log(f"venv: {len(install)} wheels into {VENV} (the image's python3) ...")
    bwrap(tree, binds, ["/usr/bin/python3", "-m", "venv", "--without-pip", VENV], env)
    pip = [f"{VENV}/bin/python", f"{WHEELS_AT}/{pip_wheel.name}/pip"]
    flags = ["--no-index", "--no-deps", "--no-compile", "--no-cache-dir", "--disable-pip-version-check"]
    bwrap(tree, binds, [*pip, "install", "-q", *flags, *install], env)
    bwrap(tree, binds, [*pip, "check"], env)
    # hash-based .pyc depend on the source only, so compiling in parallel changes no byte.
    # Not the kubernetes package: the service never imports it (in the cluster it reads its
    # service account; the package serves only kubeconfigs with an exec or auth-provider
    # plugin), and its 74 MB of generated sources were most of the compile time and of the
    # .pyc bytes. Were it ever imported, Python would compile it in memory (the root is
    # read-only): slower, not different.
    compile_ = ["-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "checked-hash"]
    compile_ += ["-x", "/site-packages/kubernetes/"]
    log("venv: byte-compiling (hash-based .pyc) ...")
    bwrap(tree, binds, [f"{VENV}/bin/python", *compile_, f"{VENV}/lib"], env)
    # release manifests for the status classifier (tracked files only)
    listed = run(["git", "ls-files", "-z", "releases"], cwd=ROOT)
    for rel in sorted(filter(None, listed.split("\0"))):
        target = opt / "appliance" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, target)
    # the user and group, appended to the Debian layer's files
    etc = work / "etc"
    etc.mkdir()
    passwd = (tree / "etc/passwd").read_text()
    group = (tree / "etc/group").read_text()
    (etc / "passwd").write_text(passwd + f"{USER_NAME}:x:{UID}:{GID}::/nonexistent:/usr/sbin/nologin\n")
    (etc / "group").write_text(group + f"{USER_NAME}:x:{GID}:\n")
    return work


def _walk(top: Path, rel: str) -> Iterator[tuple[str, Path]]:
    """``(archive name, path)`` of ``top/rel`` and everything under it, sorted by name."""
    path = top / rel
    yield rel, path
    if path.is_dir() and not path.is_symlink():
        for child in sorted(os.listdir(path)):
            yield from _walk(top, f"{rel}/{child}")


def write_layer(top: Path, names: Sequence[str], dest: Path, epoch: int) -> None:
    """A tar of ``names`` under ``top``: sorted, root-owned, mtime ``epoch``, normalised modes."""
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in names:
            for arcname, path in _walk(top, name):
                st = path.lstat()
                info = tarfile.TarInfo(arcname)
                info.mtime = epoch
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if path.is_symlink():
                    info.type = tarfile.SYMTYPE
                    info.linkname = os.readlink(path)
                    info.mode = 0o777
                    tar.addfile(info)
                elif path.is_dir():
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
                else:
                    info.size = st.st_size
                    info.mode = 0o755 if st.st_mode & 0o111 else 0o644
                    with path.open("rb") as fh:
                        tar.addfile(info, fh)


# --------------------------------------------------------------------------- OCI


# Debian architecture -> OCI (Go) architecture, where they differ
OCI_ARCH = {"armhf": "arm", "i386": "386", "ppc64el": "ppc64le"}


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_oci(inputs: Inputs, base_layer: Path, app_layer: Path) -> str:
    out = inputs.output
    image = f"{out}:{inputs.tag}"
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    run(["umoci", "init", "--layout", str(out)])
    run(["umoci", "new", "--image", image])
    for layer in (base_layer, app_layer):
        log(f"OCI: compressing {layer.name} ({layer.stat().st_size // 2**20} MiB) ...")
        run(["umoci", "raw", "add-layer", "--no-history", "--image", image, str(layer)])
    config = ["umoci", "config", "--no-history", "--image", image, "--created", iso(inputs.epoch)]
    config += ["--config.user", f"{UID}:{GID}", "--config.workingdir", "/"]
    config += ["--config.exposedports", f"{PORT}/tcp", "--config.exposedports", f"{HTTP_PORT}/tcp"]
    config += ["--os", "linux", "--architecture", OCI_ARCH.get(inputs.arch, inputs.arch)]
    config += [f"--config.entrypoint={arg}" for arg in ENTRYPOINT]
    config += [f"--config.env={item}" for item in ENV]
    config += ["--config.label", f"org.opencontainers.image.version={inputs.version}"]
    config += ["--config.label", f"org.opencontainers.image.title={REPOSITORY.rsplit('/', 1)[1]}"]
    run(config)
    run(["umoci", "gc", "--layout", str(out)])
    return manifest_digest(out, inputs.tag)


def manifest_digest(layout: Path, tag: str) -> str:
    index = json.loads((layout / "index.json").read_text())
    for manifest in index["manifests"]:
        if manifest.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return str(manifest["digest"])
    raise BuildError(f"{layout}: no manifest tagged {tag}")


def image_size(layout: Path, digest: str) -> int:
    """Bytes a registry stores for the image: its manifest, config and compressed layers."""
    blob = layout / "blobs" / "sha256" / digest.removeprefix("sha256:")
    manifest = json.loads(blob.read_bytes())
    parts = [manifest["config"], *manifest["layers"]]
    return blob.stat().st_size + sum(int(part["size"]) for part in parts)


# --------------------------------------------------------------------------- main


def check_tools() -> None:
    """Every program the build runs, and root; ``MissingTools`` names the Debian packages."""
    missing = sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None})
    if missing:
        raise MissingTools(
            f"missing programs; install the Debian packages {' '.join(missing)} "
            f"(apt-get install {' '.join(missing)}, or: bash scripts/setup.sh --test-deps)"
        )
    if os.geteuid() != 0:
        raise MissingTools("run as root (mmdebstrap --mode=root and bwrap build a root-owned tree)")
    if (sys.version_info.major, sys.version_info.minor) != IMAGE_PYTHON:
        raise MissingTools(
            f"run with Python {'.'.join(map(str, IMAGE_PYTHON))} (the image's, which the locked "
            f"wheels are for), not {sys.version.split()[0]}"
        )


def _try_lock(fh: IO[str]) -> bool:
    """One build at a time per cache directory (they replace its stale entries)."""
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def build(inputs: Inputs) -> dict[str, object]:
    started = time.monotonic()
    inputs.cache.mkdir(parents=True, exist_ok=True)
    with (inputs.cache / ".lock").open("w") as lock:
        if not _try_lock(lock):
            log(f"waiting for another build using {inputs.cache} ...")
            fcntl.flock(lock, fcntl.LOCK_EX)
        with tempfile.TemporaryDirectory(dir=inputs.cache, prefix="tmp-app-") as tmp:
            # the wheels while mmdebstrap builds the Debian layer: neither needs the other
            wheels = Path(tmp) / "wheels"
            wheels.mkdir()
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="debian-layer") as pool:
                base = pool.submit(build_base, inputs)
                fetch_wheels(inputs, wheels)
                base_layer, tree = base.result()
            work = build_app(inputs, tree, Path(tmp))
            app_layer = Path(tmp) / "app.tar"
            write_layer(work, ["etc", "opt"], app_layer, inputs.epoch)
            digest = write_oci(inputs, base_layer, app_layer)
    seconds = round(time.monotonic() - started, 1)
    size = image_size(inputs.output, digest)
    log(f"{inputs.reference} -> oci:{inputs.output}:{inputs.tag} {digest} ({size // 2**20} MiB, {seconds}s)")
    return {
        "reference": inputs.reference,
        "layout": str(inputs.output),
        "tag": inputs.tag,
        "digest": digest,
        "sourceDateEpoch": inputs.epoch,
        "compressedBytes": size,
        "seconds": seconds,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "build" / "status-image",
        help="OCI image layout directory to (re)create. Default: build/status-image",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=ROOT / ".cache" / "status-image",
        help="Cache of the Debian layer and the wheels. Default: .cache/status-image",
    )
    parser.add_argument("--json", action="store_true", help="Print the result as one JSON line on stdout.")
    parser.add_argument(
        "--update-lock",
        action="store_true",
        help="Re-pin the runtime wheels to the versions installed here, then stop.",
    )
    args = parser.parse_args(argv)
    try:
        if args.update_lock:
            args.cache_dir.mkdir(parents=True, exist_ok=True)
            update_lock(args.cache_dir)
            return 0
        epoch_env = os.environ.get("SOURCE_DATE_EPOCH")
        check_tools()
        inputs = Inputs(
            version=package_version(),
            arch=run(["dpkg", "--print-architecture"]).strip(),
            epoch=int(epoch_env) if epoch_env else git_epoch(),
            base_epoch=git_epoch(*RECIPE_FILES),
            cache=args.cache_dir.resolve(),
            output=args.output.resolve(),
        )
        result = build(inputs)
    except MissingTools as exc:
        print(f"build_status_image: {exc}", file=sys.stderr)
        return 2
    except BuildError as exc:
        print(f"build_status_image: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['reference']} {result['digest']} oci:{result['layout']}:{result['tag']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
