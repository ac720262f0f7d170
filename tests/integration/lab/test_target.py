"""The composition root hands out the lab's adapters only for a site a live lab owns."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from appliance_lab.testing import LabHandle

from appliance_cli.env import open_env
from appliance_cli.site import Site, atomic_write


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
    env = open_env(site)
    assert env.info is None
    from appliance_cli.adapters.flux import FluxCliAdapter
    from appliance_cli.adapters.talosctl import TalosctlAdapter

    assert isinstance(env.talos, TalosctlAdapter)
    assert isinstance(env.flux, FluxCliAdapter)


def test_live_lab_gets_the_lab_adapters(lab: LabHandle) -> None:
    from appliance_lab.talos_client import LabFluxAdapter, LabTalosAdapter

    site = Site.open("lab")
    env = open_env(site)
    assert env.info is not None and env.info.name == "lab"
    talos = env.talos
    assert isinstance(talos, LabTalosAdapter) and talos.talos_url == lab.talos_url
    # the endpoints come from the lab, resolved by the one rule
    urls = env.endpoints()
    assert urls.login_url == lab.login_url and urls.status_url == lab.status_url
    assert env.registry_mirror is not None and env.registry_mirror.startswith("127.0.0.1:")
    flux = env.flux
    assert isinstance(flux, LabFluxAdapter)
    kinds = {(o["kind"], o["metadata"]["name"]) for o in flux.install_manifests(None)}
    assert ("Deployment", "helm-controller") in kinds
    assert ("CustomResourceDefinition", "helmreleases.helm.toolkit.fluxcd.io") in kinds
    # another site id is not the lab
    assert open_env(Site.open("appliance-single-node")).info is None
