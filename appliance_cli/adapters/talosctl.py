"""``TalosctlAdapter``: the real Talos adapter, running ``talosctl`` (documented syntax only).

The ``argv_*`` functions build each command line; bootstrap shows them in the dry-run plan,
and the adapter runs exactly them. Secret material (generated configs, kubeconfig) never
passes through argv or logs: it is written to files 0600 (temp file, then rename).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from appliance_cli.adapters.process import ProcessRunner, SubprocessRunner
from appliance_cli.adapters.talos import (
    Disk,
    GenConfigRequest,
    GeneratedConfig,
    HealthResult,
    MaintenanceInfo,
)
from appliance_cli.errors import CommandError

TALOSCTL = "talosctl"


def _secure(node_ip: str, talosconfig: Path) -> list[str]:
    return ["--nodes", node_ip, "--endpoints", node_ip, "--talosconfig", str(talosconfig)]


def argv_get_disks(node_ip: str) -> list[str]:
    return [TALOSCTL, "get", "disks", "--insecure", "--nodes", node_ip, "--output", "json"]


def argv_gen_config(request: GenConfigRequest, outdir: Path, patch_file: Path) -> list[str]:
    argv = [
        TALOSCTL,
        "gen",
        "config",
        request.cluster_name,
        request.endpoint,
        "--talos-version",
        request.talos_version,
        "--kubernetes-version",
        request.kubernetes_version.removeprefix("v"),
        "--install-disk",
        request.install_disk,
        "--install-image",
        request.installer_image,
        "--config-patch-control-plane",
        f"@{patch_file}",
        "--output-types",
        "controlplane,talosconfig",
        "--output",
        str(outdir),
        "--with-docs=false",
        "--with-examples=false",
    ]
    for san in request.additional_sans:
        argv += ["--additional-sans", san]
    return argv


def argv_apply_config(node_ip: str, config_file: Path) -> list[str]:
    return [TALOSCTL, "apply-config", "--insecure", "--nodes", node_ip, "--file", str(config_file)]


def argv_version(node_ip: str, talosconfig: Path) -> list[str]:
    return [TALOSCTL, "version", *_secure(node_ip, talosconfig)]


def argv_bootstrap(node_ip: str, talosconfig: Path) -> list[str]:
    return [TALOSCTL, "bootstrap", *_secure(node_ip, talosconfig)]


def argv_kubeconfig(node_ip: str, talosconfig: Path, out: Path) -> list[str]:
    return [TALOSCTL, "kubeconfig", str(out), *_secure(node_ip, talosconfig)]


def argv_health(node_ip: str, talosconfig: Path, wait_timeout: str = "2m") -> list[str]:
    return [TALOSCTL, "health", *_secure(node_ip, talosconfig), "--wait-timeout", wait_timeout]


def argv_image_pull(node_ip: str, talosconfig: Path, image: str) -> list[str]:
    return [TALOSCTL, "image", "pull", "--namespace", "cri", *_secure(node_ip, talosconfig), image]


def parse_disks(stdout: str) -> tuple[Disk, ...]:
    """``talosctl get disks -o json`` prints one JSON resource after another (not an array)."""
    decoder = json.JSONDecoder()
    disks: list[Disk] = []
    text = stdout.strip()
    pos = 0
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        obj, pos = decoder.raw_decode(text, pos)
        spec: dict[str, Any] = obj.get("spec") or {}
        meta: dict[str, Any] = obj.get("metadata") or {}
        dev = spec.get("dev_path") or f"/dev/{meta.get('id', '')}"
        if spec.get("cdrom") or str(meta.get("id", "")).startswith(("loop", "sr", "zram")):
            continue
        disks.append(
            Disk(
                dev_path=str(dev),
                size_bytes=int(spec.get("size") or 0),
                model=str(spec.get("model") or ""),
                transport=str(spec.get("transport") or ""),
                readonly=bool(spec.get("readonly")),
            )
        )
    return tuple(disks)


def _atomic_copy(src: Path, dest: Path) -> None:
    from appliance_cli.site import atomic_write

    atomic_write(dest, src.read_bytes(), mode=0o600)


class TalosctlAdapter:
    def __init__(self, runner: ProcessRunner | None = None, *, timeout: float = 120.0) -> None:
        self.runner = runner or SubprocessRunner()
        self.timeout = timeout

    def maintenance_info(self, node_ip: str) -> MaintenanceInfo:
        try:
            out = self.runner.run(argv_get_disks(node_ip), timeout=30.0).stdout
        except CommandError as exc:
            return MaintenanceInfo(reachable=False, error=(exc.stderr.strip() or exc.message)[-300:])
        try:
            return MaintenanceInfo(reachable=True, disks=parse_disks(out))
        except ValueError as exc:
            return MaintenanceInfo(reachable=True, error=f"unreadable disk list: {exc}")

    def gen_config(self, request: GenConfigRequest, workdir: Path) -> GeneratedConfig:
        """Run ``talosctl gen config`` in ``workdir``; append the extra documents to controlplane.yaml."""
        workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        patch_file = workdir / "controlplane-patch.yaml"
        patch_file.write_text("\n---\n".join(request.patches) if request.patches else "{}\n")
        os.chmod(patch_file, 0o600)
        outdir = workdir / "generated"
        self.runner.run(argv_gen_config(request, outdir, patch_file), timeout=self.timeout)
        cp = (outdir / "controlplane.yaml").read_text()
        if request.extra_documents:
            parts = [cp.rstrip("\n")] + [d.rstrip("\n") for d in request.extra_documents]
            cp = "\n---\n".join(parts) + "\n"
        talosconfig = (outdir / "talosconfig").read_text()
        return GeneratedConfig(controlplane_yaml=cp, talosconfig_yaml=talosconfig)

    def apply_config(self, node_ip: str, config_file: Path) -> None:
        self.runner.run(argv_apply_config(node_ip, config_file), timeout=self.timeout)

    def secure_api_ready(self, node_ip: str, talosconfig: Path) -> bool:
        try:
            self.runner.run(argv_version(node_ip, talosconfig), timeout=15.0)
            return True
        except CommandError:
            return False

    def bootstrap_etcd(self, node_ip: str, talosconfig: Path) -> None:
        try:
            self.runner.run(argv_bootstrap(node_ip, talosconfig), timeout=self.timeout)
        except CommandError as exc:
            if "AlreadyExists" in exc.stderr or "already bootstrapped" in exc.stderr:
                return
            raise

    def write_kubeconfig(self, node_ip: str, talosconfig: Path, out: Path) -> None:
        out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".kubeconfig-") as tmp:
            tmp_file = Path(tmp) / "kubeconfig"
            self.runner.run(argv_kubeconfig(node_ip, talosconfig, tmp_file), timeout=self.timeout)
            os.chmod(tmp_file, 0o600)
            _atomic_copy(tmp_file, out)

    def health(self, node_ip: str, talosconfig: Path) -> HealthResult:
        try:
            self.runner.run(argv_health(node_ip, talosconfig), timeout=180.0)
            return HealthResult(reachable=True, healthy=True)
        except CommandError as exc:
            reachable = "connection refused" not in exc.stderr and "deadline" not in exc.stderr
            return HealthResult(reachable=reachable, healthy=False, error=exc.message)

    def pull_image(self, node_ip: str, talosconfig: Path, image: str) -> None:
        self.runner.run(argv_image_pull(node_ip, talosconfig, image), timeout=3600.0)
