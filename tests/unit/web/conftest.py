"""Fixtures: the status service on loopback with a stand-in collector (real HTTP, real uvicorn)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from appliance_cli.status.classify import classify
from appliance_cli.status.model import StatusDocument
from appliance_cli.status.snapshot import ClusterSnapshot
from appliance_cli.tls import default_client_context
from appliance_cli.web.auth import AuthConfig
from appliance_cli.web.server import StatusServer
from tests.unit.status import builders

TOKEN = "status-token-9f8e7d6c5b4a39281706"


def healthy() -> tuple[ClusterSnapshot, StatusDocument]:
    snap = builders.healthy_cluster().snapshot()
    return snap, classify(snap)


def start(
    collect: Callable[[], tuple[ClusterSnapshot, StatusDocument]] | None = healthy,
    *,
    interval: float = 5.0,
    auth_config: AuthConfig | None = None,
    token: str = TOKEN,
) -> StatusServer:
    """The status service of site ``lab`` on a free loopback port, started; ``collect`` None:
    the live collector of the site's cluster. Login back-off is shortened unless ``auth_config``
    says otherwise."""
    return StatusServer(
        kubeconfig=None,
        in_cluster=False,
        token=token,
        host="127.0.0.1",
        port=0,
        site_id="lab",
        interval=interval,
        collect=collect,
        auth_config=auth_config or AuthConfig(delay_step_seconds=0.01, max_delay_seconds=0.02),
    ).start()


def wait_for(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    done = threading.Event()
    import time

    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        done.wait(0.01)


@pytest.fixture
def server() -> Iterator[StatusServer]:
    srv = start()
    wait_for(lambda: srv.state.view().current is not None)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def http(server: StatusServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.url, timeout=10, follow_redirects=False, verify=default_client_context()
    ) as c:
        yield c


@pytest.fixture
def authed(server: StatusServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.url, timeout=10, follow_redirects=False, verify=default_client_context()
    ) as c:
        r = c.post("/login", data={"token": TOKEN})
        assert r.status_code == 303
        yield c
