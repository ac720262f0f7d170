"""Fixtures: a lab API server on loopback, a kubeconfig for it, official-client APIs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from appliance_lab.apiserver import LabApiServer
from appliance_lab.store import BY_KEY, Store

TOKEN = "lab-test-token-0123456789abcdef"


@pytest.fixture
def store() -> Store:
    s = Store()
    for ns in ("default", "kube-system", "flux-system", "alga"):
        s.create(BY_KEY["v1/namespaces"], {"metadata": {"name": ns}, "status": {"phase": "Active"}})
    return s


@pytest.fixture
def server(store: Store) -> Iterator[LabApiServer]:
    srv = LabApiServer(store, token=TOKEN)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def kubeconfig(server: LabApiServer, tmp_path: Path) -> Path:
    return server.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def http(server: LabApiServer) -> Iterator[httpx.Client]:
    """A plain HTTP client that trusts the server's CA (no token: tests add it when they mean to)."""
    with httpx.Client(verify=server.client_ssl_context() or True, timeout=10) as c:
        yield c


@pytest.fixture
def api_client(kubeconfig: Path) -> Iterator[Any]:
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    cfg.retries = False
    api = client.ApiClient(cfg)
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def core(api_client: Any) -> Any:
    from kubernetes import client

    return client.CoreV1Api(api_client)


@pytest.fixture
def apps(api_client: Any) -> Any:
    from kubernetes import client

    return client.AppsV1Api(api_client)


@pytest.fixture
def custom(api_client: Any) -> Any:
    from kubernetes import client

    return client.CustomObjectsApi(api_client)
