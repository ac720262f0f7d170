"""`appliance status --json` in its own process, against a lab appliance whose database answers
the seed-user exec: it loads nothing its output does not need (no `kubernetes` package, no
httpx command line, no jsonschema, no websocket-client, no rich, no urllib3); a second status
while the database container runs reuses the seed count the first one read (no exec, no
WebSocket import)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest
from appliance_lab.testing import LabHandle

from appliance_cli.adapters.kube import KubeClient
from appliance_cli.errors import KubeError
from appliance_cli.status.collect import SEED_COMMAND, seed_pod

pytestmark = pytest.mark.timeout(180)

# Top-level packages (or exact modules) the status path must not import.
FORBIDDEN = ("kubernetes", "httpx._main", "jsonschema", "websocket", "rich", "urllib3")


def imported_modules(importtime_stderr: str) -> set[str]:
    """Every module named by ``python -X importtime`` (one line per module imported)."""
    return {
        m.group(1)
        for line in importtime_stderr.splitlines()
        if (m := re.match(r"import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", line))
    }


def forbidden(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))


def test_forbidden_is_recognised() -> None:
    assert forbidden(
        {"kubernetes.client", "websockets.client", "rich", "httpx", "richer", "urllib3.util"}
    ) == [
        "kubernetes.client",
        "rich",
        "urllib3.util",
    ]


def seeded(kube: KubeClient) -> bool:
    try:
        return kube.exec(*seed_pod(), list(SEED_COMMAND))[2] == 0
    except KubeError:
        return False


@pytest.mark.lab(speed=60)
def test_status_json_imports_no_heavyweight_module(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects(tiers=("platform", "core"))
    kube = KubeClient.from_kubeconfig(lab.kubeconfig)
    lab.wait_for(lambda: seeded(kube), timeout=90, what="the seed-user query answers")

    def status() -> tuple[dict[str, Any], set[str]]:
        r = subprocess.run(
            [
                sys.executable,
                "-X",
                "importtime",
                "-m",
                "appliance_cli",
                "status",
                "--site-id",
                "lab",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode in (0, 1), r.stderr[-3000:]
        return json.loads(r.stdout), imported_modules(r.stderr)

    doc, modules = status()
    assert doc["siteId"] == "lab"
    assert "appliance_cli.adapters.kube_http" in modules  # the live path really ran
    assert "websockets.client" in modules  # … with its seed-user exec
    assert forbidden(modules) == []
    again, modules = status()
    assert "websockets.client" not in modules  # the count the first status read is reused
    assert forbidden(modules) == []
    assert again["tiers"]["bootstrap"] == doc["tiers"]["bootstrap"]
    assert [b["code"] for b in again["topBlockers"]] == [b["code"] for b in doc["topBlockers"]]
