"""Many clients at once, keep-alive hygiene."""

from __future__ import annotations

import socket
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from appliance_lab.apiserver import LabApiServer
from appliance_lab.store import BY_KEY, Store

from .conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_parallel_writers_readers_and_a_watch(store: Store, server: LabApiServer) -> None:
    ctx = server.client_ssl_context()
    seen: list[str] = []
    started = threading.Event()

    def watch() -> None:
        with (
            httpx.Client(verify=ctx or True, timeout=30) as c,
            c.stream(
                "GET",
                f"{server.url}/api/v1/namespaces/alga/configmaps?watch=1&timeoutSeconds=20",
                headers=AUTH,
            ) as r,
        ):
            started.set()
            for line in r.iter_lines():
                if line:
                    seen.append(line)
                if len(seen) >= 80:
                    return

    watcher = threading.Thread(target=watch)
    watcher.start()
    assert started.wait(10)

    def worker(i: int) -> tuple[int, int]:
        with httpx.Client(verify=ctx or True, timeout=30) as c:
            created = c.post(
                f"{server.url}/api/v1/namespaces/alga/configmaps",
                json={"metadata": {"name": f"c{i}"}, "data": {"i": str(i)}},
                headers=AUTH,
            ).status_code
            listed = c.get(f"{server.url}/api/v1/configmaps?limit=5", headers=AUTH).status_code
            return created, listed

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(worker, range(80)))
    watcher.join(timeout=20)
    assert results == [(201, 200)] * 80
    assert store.count(BY_KEY["v1/configmaps"]) == 80
    assert len(seen) == 80 and not watcher.is_alive()


def test_unread_request_bodies_do_not_desync_keep_alive(server: LabApiServer, http: httpx.Client) -> None:
    # a POST to an unknown path carries a body nobody routes; the next request on the same
    # connection must still parse
    r1 = http.post(f"{server.url}/api/v1/widgets", content=b'{"x": 1}' * 100, headers=AUTH)
    r2 = http.get(f"{server.url}/api/v1/namespaces/alga", headers=AUTH)
    assert r1.status_code == 404 and r2.status_code == 200 and r2.json()["metadata"]["name"] == "alga"


def test_garbage_and_half_open_connections_do_not_hurt(server: LabApiServer, http: httpx.Client) -> None:
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    raw.sendall(b"\x16\x03\x01 not really tls\r\n\r\n")
    raw.close()
    half = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    tls: Any = (server.client_ssl_context() or ssl.create_default_context()).wrap_socket(
        half, server_hostname="127.0.0.1"
    )
    tls.close()
    assert http.get(f"{server.url}/readyz").text == "ok"
