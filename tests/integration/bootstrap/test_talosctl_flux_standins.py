"""The real adapters run the documented ``talosctl``/``flux`` syntax (recording stand-ins on PATH)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance_cli.adapters.flux import FluxCliAdapter
from appliance_cli.adapters.talos import GenConfigRequest
from appliance_cli.adapters.talosctl import TalosctlAdapter
from appliance_cli.errors import CommandError, UsageError

from .standins import calls, install


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    rec = tmp_path / "calls.jsonl"
    install(tmp_path / "bin", rec)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STANDIN_RECORD", str(rec))
    return rec


def request() -> GenConfigRequest:
    return GenConfigRequest(
        cluster_name="appliance-single-node",
        endpoint="https://192.168.64.8:6443",
        node_ip="192.168.64.8",
        talos_version="v1.12.0",
        kubernetes_version="v1.31.4",
        install_disk="/dev/sda",
        installer_image="factory.talos.dev/installer/abc:v1.12.0",
        patches=("cluster:\n  allowSchedulingOnControlPlanes: true\n",),
        extra_documents=("apiVersion: v1alpha1\nkind: HostnameConfig\nauto: 'off'\nhostname: alga\n",),
    )


def test_maintenance_disks_are_read_with_get_disks_insecure(record: Path) -> None:
    info = TalosctlAdapter().maintenance_info("192.168.64.8")
    assert calls(record) == [
        ["talosctl", "get", "disks", "--insecure", "--nodes", "192.168.64.8", "--output", "json"]
    ]
    assert info.reachable
    assert [d.dev_path for d in info.disks] == ["/dev/sda", "/dev/sdb"]  # the CD-ROM is not a disk
    assert info.disks[0].size_bytes == 256060514304


def test_unreachable_maintenance_api_is_reported_not_raised(
    record: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_FAIL", "get")
    monkeypatch.setenv("STANDIN_FAIL_MESSAGE", "rpc error: code = Unavailable desc = connection refused")
    info = TalosctlAdapter().maintenance_info("192.168.64.8")
    assert not info.reachable
    assert "connection refused" in (info.error or "")


def test_gen_config_uses_the_documented_flags_and_appends_documents(record: Path, tmp_path: Path) -> None:
    gen = TalosctlAdapter().gen_config(request(), tmp_path / "work")
    (argv,) = calls(record)
    work = tmp_path / "work"
    assert argv == [
        "talosctl",
        "gen",
        "config",
        "appliance-single-node",
        "https://192.168.64.8:6443",
        "--talos-version",
        "v1.12.0",
        "--kubernetes-version",
        "1.31.4",
        "--install-disk",
        "/dev/sda",
        "--install-image",
        "factory.talos.dev/installer/abc:v1.12.0",
        "--config-patch-control-plane",
        f"@{work / 'controlplane-patch.yaml'}",
        "--output-types",
        "controlplane,talosconfig",
        "--output",
        str(work / "generated"),
        "--with-docs=false",
        "--with-examples=false",
    ]
    assert "allowSchedulingOnControlPlanes: true" in gen.controlplane_yaml  # the patch file was handed over
    assert gen.controlplane_yaml.rstrip().endswith("hostname: alga")
    assert "\n---\napiVersion: v1alpha1\nkind: HostnameConfig" in gen.controlplane_yaml
    assert (work / "controlplane-patch.yaml").stat().st_mode & 0o777 == 0o600


def test_secure_api_commands(record: Path, tmp_path: Path) -> None:
    tc = tmp_path / "talosconfig"
    out = tmp_path / "site" / "kubeconfig"
    a = TalosctlAdapter()
    a.apply_config("192.168.64.8", tmp_path / "controlplane.yaml")
    assert a.secure_api_ready("192.168.64.8", tc)
    a.bootstrap_etcd("192.168.64.8", tc)
    a.write_kubeconfig("192.168.64.8", tc, out)
    a.pull_image("192.168.64.8", tc, "ghcr.io/nine-minds/alga-psa-ee:979e2079")
    secure = ["--nodes", "192.168.64.8", "--endpoints", "192.168.64.8", "--talosconfig", str(tc)]
    got = calls(record)
    assert got[0] == [
        "talosctl",
        "apply-config",
        "--insecure",
        "--nodes",
        "192.168.64.8",
        "--file",
        str(tmp_path / "controlplane.yaml"),
    ]
    assert got[1] == ["talosctl", "version", *secure]
    assert got[2] == ["talosctl", "bootstrap", *secure]
    assert got[3][:2] == ["talosctl", "kubeconfig"] and got[3][3:] == secure
    assert got[3][2] != str(out)  # written to a temp path, then moved into place
    assert got[4] == [
        "talosctl",
        "image",
        "pull",
        "--namespace",
        "cri",
        *secure,
        "ghcr.io/nine-minds/alga-psa-ee:979e2079",
    ]
    assert out.read_text().startswith("apiVersion: v1")
    assert out.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in out.parent.iterdir()] == ["kubeconfig"]  # no temp leftovers


def test_bootstrap_of_an_already_bootstrapped_node_is_not_an_error(
    record: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_FAIL", "bootstrap")
    monkeypatch.setenv(
        "STANDIN_FAIL_MESSAGE", "rpc error: code = AlreadyExists desc = etcd data directory is not empty"
    )
    TalosctlAdapter().bootstrap_etcd("192.168.64.8", tmp_path / "tc")
    monkeypatch.setenv("STANDIN_FAIL_MESSAGE", "rpc error: code = Unavailable desc = connection refused")
    with pytest.raises(CommandError) as exc:
        TalosctlAdapter().bootstrap_etcd("192.168.64.8", tmp_path / "tc")
    assert exc.value.argv[:2] == ["talosctl", "bootstrap"]
    assert "connection refused" in exc.value.stderr


def test_flux_version_and_install_export(record: Path) -> None:
    flux = FluxCliAdapter()
    assert flux.check_cli() == "2.4.0"
    objs = flux.install_manifests(None)
    assert [o["kind"] for o in objs] == ["Namespace", "Deployment"]
    flux.install_manifests("v2.4.0")
    assert calls(record) == [
        ["flux", "--version"],
        ["flux", "install", "--export"],
        ["flux", "install", "--export", "--version=v2.4.0"],
    ]


def test_old_flux_is_refused_with_a_clear_message(record: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STANDIN_FLUX_VERSION", "0.41.2")
    with pytest.raises(UsageError, match="too old"):
        FluxCliAdapter().check_cli()


def test_missing_flux_is_a_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(UsageError, match="flux CLI is needed") as exc:
        FluxCliAdapter().check_cli()
    assert "PATH" in (exc.value.hint or "")
