"""Phase 0 on the real path: TalosctlAdapter running a recording talosctl stand-in, in order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from appliance_cli.adapters.talosctl import TalosctlAdapter
from appliance_cli.bootstrap import engine
from appliance_cli.bootstrap.options import build_options
from appliance_cli.env import SiteEnv
from appliance_cli.site import Site
from tests.recording import RecordingReporter
from tests.unit.bootstrap.fakes import Harness

from .standins import calls, install


def test_phase_0_runs_the_documented_talosctl_sequence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = tmp_path / "calls.jsonl"
    install(tmp_path / "bin", rec)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STANDIN_RECORD", str(rec))
    h = Harness()
    adapters = h.adapters()
    adapters.env = lambda site: SiteEnv(site=site, make_talos=TalosctlAdapter, make_flux=lambda: h.flux)
    opts = build_options(
        bootstrap_mode="fresh",
        release_version="1.0-rc5",
        node_ip="192.168.64.8",
        site_id="hw",
        hostname="alga-node",
        network_mode="static",
        interface="eth0",
        static_address="192.168.64.8/24",
        static_gateway="192.168.64.1",
        dns_servers="1.1.1.1",
    )
    result = engine.run(opts, reporter=RecordingReporter(), announce=lambda s: None, adapters=adapters)
    assert result.exit_code == 0
    site = Site.open("hw")
    tc = str(site.talosconfig)
    secure = ["--nodes", "192.168.64.8", "--endpoints", "192.168.64.8", "--talosconfig", tc]
    got = calls(rec)
    assert [c[1] for c in got] == ["get", "gen", "apply-config", "version", "bootstrap", "kubeconfig"]
    assert got[0] == ["talosctl", "get", "disks", "--insecure", "--nodes", "192.168.64.8", "--output", "json"]
    gen = got[1]
    assert gen[2:5] == ["config", "hw", "https://192.168.64.8:6443"]
    assert gen[gen.index("--install-disk") + 1] == "/dev/sda"  # the largest writable disk
    assert gen[gen.index("--talos-version") + 1] == "v1.12.0"
    assert gen[gen.index("--kubernetes-version") + 1] == "1.31.4"
    assert gen[gen.index("--install-image") + 1].startswith("factory.talos.dev/metal-installer/")
    assert got[2] == [
        "talosctl",
        "apply-config",
        "--insecure",
        "--nodes",
        "192.168.64.8",
        "--file",
        str(site.path("controlplane.yaml")),
    ]
    assert got[3] == ["talosctl", "version", *secure]
    assert got[4] == ["talosctl", "bootstrap", *secure]
    assert got[5][:2] == ["talosctl", "kubeconfig"] and got[5][3:] == secure
    docs = list(yaml.safe_load_all(site.path("controlplane.yaml").read_text()))
    kinds = [d.get("kind") for d in docs if isinstance(d, dict)]
    assert kinds == [None, "HostnameConfig", "LinkConfig", "ResolverConfig", "TimeSyncConfig"]
    for name in ("controlplane.yaml", "talosconfig", "kubeconfig"):
        assert (site.root / name).stat().st_mode & 0o777 == 0o600
