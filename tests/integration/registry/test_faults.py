"""Transient and fatal transport faults: retried within the bound, never reported as missing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from appliance_cli.adapters.registry import RegistryChecker
from appliance_cli.releases import ImageRef
from tests.integration.registry.support import Reply, free_port, scripted

pytestmark = pytest.mark.registry

DIGEST = "sha256:" + "cd" * 32
PRESENT = Reply(
    200, {"Docker-Content-Digest": DIGEST, "Content-Type": "application/vnd.oci.image.index.v1+json"}
)


def image(host: str) -> dict[str, ImageRef]:
    return {"img": ImageRef(repository=f"{host}/nine-minds/workflow-worker", tag="61e4a00e")}


def checker(host: str, **kw: Any) -> RegistryChecker:
    return RegistryChecker(insecure_registries=[host], credentials={}, backoff_initial=0.05, **kw)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_error_then_success_is_retried_to_present(status: int) -> None:
    with scripted([Reply(status), PRESENT]) as server, checker(server.host) as c:
        [result] = c.check(image(server.host))
    assert result.outcome == "present"
    assert result.digest == DIGEST
    assert result.attempts == 2
    assert [h.method for h in server.hits] == ["HEAD", "HEAD"]
    assert server.hits[0].headers["Accept"].split(", ") == [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]


def test_rate_limit_waits_for_retry_after_before_retrying() -> None:
    with scripted([Reply(429, {"Retry-After": "1"}), PRESENT]) as server, checker(server.host) as c:
        [result] = c.check(image(server.host))
    assert result.outcome == "present"
    gap = server.hits[1].at - server.hits[0].at
    assert gap >= 0.95, f"retried after {gap:.3f}s despite Retry-After: 1"


def test_retry_after_beyond_the_time_bound_gives_up_with_an_error() -> None:
    with scripted([Reply(429, {"Retry-After": "120"})]) as server, checker(server.host, timeout=2) as c:
        started = time.monotonic()
        [result] = c.check(image(server.host))
    assert time.monotonic() - started < 1.5
    assert result.outcome == "error"
    assert result.error == "HTTP 429 (rate limited; Retry-After 120 s)"
    assert len(server.hits) == 1


def test_persistent_server_error_stops_after_bounded_attempts() -> None:
    with scripted([Reply(503)]) as server, checker(server.host, max_attempts=3) as c:
        [result] = c.check(image(server.host))
    assert result.outcome == "error"
    assert result.error == "HTTP 503 after 3 attempts"
    assert len(server.hits) == 3


def test_hanging_registry_times_out_as_unreachable_within_the_bound() -> None:
    with (
        scripted([Reply(200, hang=True)]) as server,
        checker(server.host, timeout=5, request_timeout=0.5) as c,
    ):
        started = time.monotonic()
        [result] = c.check(image(server.host))
        elapsed = time.monotonic() - started
    assert result.outcome == "unreachable"
    assert not result.definite
    assert result.error is not None and "timed out" in result.error
    assert elapsed < 2.0


def test_closed_port_is_unreachable_not_missing() -> None:
    host = f"127.0.0.1:{free_port()}"
    with checker(host, timeout=3) as c:
        started = time.monotonic()
        [result] = c.check(image(host))
        elapsed = time.monotonic() - started
    assert result.outcome == "unreachable"
    assert result.error is not None and "connection refused" in result.error
    assert result.attempts > 1  # connect errors are retried ...
    assert elapsed < 3.5  # ... within the total bound


def test_whole_check_of_hanging_images_is_bounded_by_the_total_timeout() -> None:
    with scripted([Reply(200, hang=True)]) as server:
        images = {f"img{i}": ImageRef(repository=f"{server.host}/nine-minds/x{i}", tag="1") for i in range(6)}
        with checker(server.host, timeout=1.0, request_timeout=10, concurrency=2) as c:
            started = time.monotonic()
            results = c.check(images)
            elapsed = time.monotonic() - started
    assert {r.outcome for r in results} == {"unreachable"}
    assert elapsed < 2.0


MANIFEST_UNKNOWN = json.dumps(
    {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
).encode()


@pytest.mark.parametrize(
    ("script", "outcome", "error"),
    [
        # HEAD 404 has no body; the GET that follows carries the registry's error code.
        (
            [Reply(404), Reply(404, {"Content-Type": "application/json"}, MANIFEST_UNKNOWN)],
            "missing",
            "HTTP 404: manifest unknown (MANIFEST_UNKNOWN)",
        ),
        ([Reply(404, {"Docker-Distribution-Api-Version": "registry/2.0"})], "missing", "HTTP 404: not found"),
        # A web server's 404 page is not a registry's verdict.
        (
            [Reply(404, {"Content-Type": "text/html"}, b"<h1>Not Found</h1>")],
            "error",
            "HTTP 404 without a registry error code (is this a registry API?)",
        ),
    ],
)
def test_only_a_registry_404_counts_as_missing(script: list[Reply], outcome: str, error: str) -> None:
    with scripted(script) as server, checker(server.host) as c:
        [result] = c.check(image(server.host))
    assert (result.outcome, result.error) == (outcome, error)
    assert [h.method for h in server.hits] == ["HEAD", "GET"]
