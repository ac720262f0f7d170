"""The status service with its real collector against the lab API, and `appliance serve-status`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from appliance_lab.store import BY_KEY, Store

from appliance_cli.site import Site
from appliance_cli.tls import default_client_context
from appliance_cli.web.server import StatusServer
from tests.integration.status.conftest import lab_site, seed_healthy, status_service
from tests.integration.status.test_support_bundle import DB_PASSWORD, STATUS_TOKEN, _b64, _seed_secrets
from tests.unit.web.conftest import wait_for

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def site(store: Store, direct_kubeconfig: Path) -> Site:
    seed_healthy(store)
    _seed_secrets(store)
    s = lab_site(direct_kubeconfig.read_text(), STATUS_TOKEN)
    s.write("node-ip", "127.0.0.1", mode=0o644)
    return s


@pytest.fixture
def served(site: Site) -> Iterator[StatusServer]:
    with status_service(STATUS_TOKEN, interval=0.2) as srv:
        yield srv


def test_service_and_cli_agree_and_nothing_secret_is_served(served: StatusServer) -> None:
    from tests.cli_runner import invoke

    with httpx.Client(base_url=served.url, timeout=10) as c:
        assert c.post("/login", data={"token": STATUS_TOKEN}).status_code == 303
        bodies = {p: c.get(p).text for p in ["/", "/diagnostics", "/api/status", "/api/diagnostics"]}
        api = c.get("/api/status").json()
    cli = invoke(["status", "--site-id", "lab", "--json"])
    import json

    doc = json.loads(cli.stdout)
    assert doc["rollup"]["state"] == api["rollup"]["state"]
    assert [b["code"] for b in doc["topBlockers"]] == [b["code"] for b in api["topBlockers"]]
    for path, body in bodies.items():
        for secret in (STATUS_TOKEN, DB_PASSWORD, _b64(DB_PASSWORD), _b64(STATUS_TOKEN)):
            assert secret not in body, (path, secret)


def test_the_published_state_follows_the_cluster(served: StatusServer, store: Store) -> None:
    def top() -> str | None:
        view = served.state.view()
        assert view.current is not None
        blockers = view.current.doc.top_blockers
        return blockers[0].code if blockers else None

    assert top() != "node_not_ready"
    store.delete(BY_KEY["v1/nodes"], None, store.list(BY_KEY["v1/nodes"])[0][0]["metadata"]["name"])
    wait_for(lambda: top() == "node_not_ready", timeout=20)
    view = served.state.view()
    assert view.current is not None and view.current.doc.rollup.state == "failed_action_required"


@pytest.fixture
def served_on_change(site: Site) -> Iterator[StatusServer]:
    """The service with a long interval: it publishes again only when the cluster changes."""
    with status_service(STATUS_TOKEN, interval=60) as srv:
        yield srv


def test_a_client_that_has_the_current_status_gets_304_without_the_body(
    served_on_change: StatusServer, store: Store
) -> None:
    served = served_on_change
    bearer = {"Authorization": f"Bearer {STATUS_TOKEN}"}
    with httpx.Client(base_url=served.url, timeout=10) as c:
        first = c.get("/api/status", headers=bearer)
        assert first.status_code == 200
        etag = first.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"')
        # the same answer while the document stays the same: 304, no body, fresh headers
        same = c.get("/api/status", headers={**bearer, "If-None-Match": etag})
        assert same.status_code == 304 and same.content == b""
        assert same.headers["etag"] == etag
        assert same.headers["cache-control"] == "no-store"
        assert same.headers["x-content-type-options"] == "nosniff"
        assert float(same.headers["x-status-age-seconds"]) >= 0
        for tags in (f'"other", W/{etag}', "*"):  # a list and weak tags are compared weakly
            assert c.get("/api/status", headers={**bearer, "If-None-Match": tags}).status_code == 304
        # the page's way in (session cookie) gets the same
        assert c.post("/login", data={"token": STATUS_TOKEN}).status_code == 303
        assert c.get("/api/status", headers={"If-None-Match": etag}).status_code == 304
        assert c.get("/api/status").content == first.content
        c.cookies.clear()
        # no credential, or a wrong one: 401 whatever the tag
        assert c.get("/api/status", headers={"If-None-Match": etag}).status_code == 401
        wrong = {"Authorization": "Bearer nope-nope-nope-nope", "If-None-Match": etag}
        assert c.get("/api/status", headers=wrong).status_code == 401

        # the cluster changes: a new document, a new tag, and the old tag gets the body
        store.delete(BY_KEY["v1/nodes"], None, store.list(BY_KEY["v1/nodes"])[0][0]["metadata"]["name"])

        def node_gone() -> bool:
            view = served.state.view()
            return view.current is not None and any(
                b.code == "node_not_ready" for b in view.current.doc.top_blockers
            )

        wait_for(node_gone, timeout=20)
        changed = c.get("/api/status", headers={**bearer, "If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        assert "node_not_ready" in [b["code"] for b in changed.json()["topBlockers"]]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_status_command_serves_until_stopped(site: Site) -> None:
    port = _free_port()
    env = dict(os.environ)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "appliance_cli",
            "serve-status",
            "--site-id",
            "lab",
            "--port",
            str(port),
            "--interval",
            "1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        ok = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ok = (
                    httpx.get(f"{url}/healthz", timeout=1, verify=default_client_context()).status_code == 200
                )
            except httpx.HTTPError:
                ok = False
            if ok:
                break
            time.sleep(0.1)
        assert ok, proc.stderr.read() if proc.poll() is not None else "not listening"
        r = httpx.get(f"{url}/api/status", headers={"Authorization": f"Bearer {STATUS_TOKEN}"}, timeout=5)
        assert r.status_code in (200, 503)
        time.sleep(0.5)  # the service keeps serving (not a wait for a condition: a check it did not exit)
        assert proc.poll() is None
        assert httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert STATUS_TOKEN not in out + err
    assert "Status service on" in err


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--in-cluster", "--kubeconfig", "/nonexistent"], "--kubeconfig"),
        (["--port", "0"], "--port"),
        (["--interval", "0"], "--interval"),
        (["--token-file", "/nonexistent/token"], "--token-file"),
    ],
)
def test_serve_status_bad_input_names_the_flag(args: list[str], flag: str) -> None:
    from tests.cli_runner import invoke

    r = invoke(["serve-status", "--site-id", "lab", *args])
    assert r.exit_code == 2 and flag in r.output
