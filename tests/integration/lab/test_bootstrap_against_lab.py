"""`appliance bootstrap --site-id lab` against an in-process lab: phase 0 drives the simulated
Talos node through the lab adapters the factory hands out, and the run ends LOGIN_READY."""

from __future__ import annotations

import pytest
from appliance_lab.testing import LabHandle

from tests.cli_runner import invoke


@pytest.mark.lab(scenario="healthy", speed=60, bootstrapped=False)
def test_bootstrap_installs_talos_and_reaches_login(lab: LabHandle) -> None:
    assert lab.lab is not None and lab.lab.talos.state == "maintenance"
    result = invoke(
        [
            "bootstrap",
            "--site-id",
            "lab",
            "--bootstrap-mode",
            "fresh",
            "--release-version",
            "1.0-rc5",
            "--node-ip",
            "127.0.0.1",
            "--progress",
            "plain",
        ]
    )
    assert result.exit_code == 0, result.output[-3000:]
    assert lab.lab.talos.state == "running" and lab.lab.talos.bootstrapped
    applied = lab.lab.talos.applied_config or ""
    assert "installer/376567988ad3" in applied and "disk: /dev/sda" in applied
    assert lab.ready("kustomize.toolkit.fluxcd.io/v1/kustomizations", "flux-system", "alga-core")
    assert lab.login_url in result.output
