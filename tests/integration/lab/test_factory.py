"""The adapter factory hands out lab adapters only for a live lab.json."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from appliance_cli.adapters import factory
from appliance_cli.site import Site, atomic_write
from tests.lab_fixture import LabHandle


def _site() -> Site:
    site = Site.open("lab")
    site.root.mkdir(parents=True, exist_ok=True)
    return site


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize(
    "content",
    [None, "not json", json.dumps({"talosUrl": "http://127.0.0.1:1"}), json.dumps({"pid": "1"}), "DEAD"],
    ids=["no-file", "garbage", "no-pid", "pid-not-int", "dead-pid"],
)
def test_no_live_lab_gets_the_real_adapters(content: str | None) -> None:
    site = _site()
    if content == "DEAD":
        content = json.dumps({"pid": _dead_pid(), "talosUrl": "http://127.0.0.1:1"})
    if content is not None:
        atomic_write(site.root / "lab.json", content)
    assert not factory.is_lab(site)
    from appliance_cli.adapters.flux import FluxCliAdapter
    from appliance_cli.adapters.talosctl import TalosctlAdapter

    assert isinstance(factory.talos_adapter(site), TalosctlAdapter)
    assert isinstance(factory.flux_adapter(site), FluxCliAdapter)


def test_live_lab_gets_the_lab_adapters(lab: LabHandle) -> None:
    from appliance_cli.lab.talos_client import LabFluxAdapter, LabTalosAdapter

    site = Site.open("lab")
    assert factory.is_lab(site)
    talos = factory.talos_adapter(site)
    assert isinstance(talos, LabTalosAdapter) and talos.talos_url == lab.talos_url
    flux = factory.flux_adapter(site)
    assert isinstance(flux, LabFluxAdapter)
    kinds = {(o["kind"], o["metadata"]["name"]) for o in flux.install_manifests(None)}
    assert ("Deployment", "helm-controller") in kinds
    assert ("CustomResourceDefinition", "helmreleases.helm.toolkit.fluxcd.io") in kinds
    # another site id is not the lab
    assert not factory.is_lab(Site.open("appliance-single-node"))
