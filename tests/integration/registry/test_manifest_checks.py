"""Manifest checks against a real registry (distribution v2.8) on loopback."""

from __future__ import annotations

import pytest

from appliance_cli.adapters.registry import RegistryChecker, check_images
from appliance_cli.releases import ImageRef
from tests.integration.registry.support import (
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    RegistryServer,
    push_image,
    push_index,
)

pytestmark = pytest.mark.registry


def ref(server: RegistryServer, path: str, tag: str) -> ImageRef:
    return ImageRef(repository=f"{server.host}/{path}", tag=tag)


@pytest.fixture(scope="module")
def pushed(registry: RegistryServer) -> dict[str, str]:
    return {
        "docker": push_image(registry.url, "nine-minds/alga-psa-ee", "979e2079")[0],
        "oci": push_image(registry.url, "nine-minds/email-service", "979e2079", oci=True)[0],
        "index": push_index(registry.url, "nine-minds/multiarch", "1.0"),
    }


@pytest.mark.parametrize(
    ("path", "tag", "key", "media_type"),
    [
        ("nine-minds/alga-psa-ee", "979e2079", "docker", DOCKER_MANIFEST),
        ("nine-minds/email-service", "979e2079", "oci", OCI_MANIFEST),
        ("nine-minds/multiarch", "1.0", "index", OCI_INDEX),
    ],
)
def test_present_tag_reports_the_digest_of_the_pushed_manifest(
    registry: RegistryServer, pushed: dict[str, str], path: str, tag: str, key: str, media_type: str
) -> None:
    [result] = check_images({"img": ref(registry, path, tag)}, insecure_registries=[registry.host])
    assert result.outcome == "present", result.error
    assert result.digest == pushed[key]
    assert result.media_type == media_type
    assert result.attempts == 1  # one HEAD, no extra round trip


@pytest.mark.parametrize(
    ("path", "tag", "detail"),
    [
        ("nine-minds/alga-psa-ee", "61e4a00e", "manifest unknown (MANIFEST_UNKNOWN)"),
        # distribution answers MANIFEST_UNKNOWN for a repository it never saw, too
        ("nine-minds/no-such-repo", "979e2079", "manifest unknown (MANIFEST_UNKNOWN)"),
    ],
)
def test_missing_tag_and_missing_repository_are_missing(
    registry: RegistryServer, pushed: dict[str, str], path: str, tag: str, detail: str
) -> None:
    [result] = check_images({"img": ref(registry, path, tag)}, insecure_registries=[registry.host])
    assert result.outcome == "missing"
    assert result.definite
    assert result.status_code == 404
    assert result.error == f"HTTP 404: {detail}"
    assert result.digest is None


def test_many_images_come_back_in_order_over_one_client(
    registry: RegistryServer, pushed: dict[str, str]
) -> None:
    images = {
        f"img{i}": ref(registry, "nine-minds/alga-psa-ee", "979e2079" if i % 2 else f"nope-{i}")
        for i in range(12)
    }
    with RegistryChecker(insecure_registries=[registry.host], concurrency=4) as checker:
        results = checker.check(images)
    assert [r.key for r in results] == list(images)
    assert [r.outcome for r in results] == ["present" if i % 2 else "missing" for i in range(12)]
    assert {r.digest for r in results if r.outcome == "present"} == {pushed["docker"]}


def test_digest_reference_is_checked_by_digest(registry: RegistryServer, pushed: dict[str, str]) -> None:
    image = ImageRef(repository=f"{registry.host}/nine-minds/multiarch", tag=pushed["index"])
    [result] = check_images({"img": image}, insecure_registries=[registry.host])
    assert result.outcome == "present"
    assert result.image == f"{registry.host}/nine-minds/multiarch@{pushed['index']}"


def test_https_is_the_default_so_a_plain_http_registry_is_unreachable_not_missing(
    registry: RegistryServer, pushed: dict[str, str]
) -> None:
    [result] = check_images(
        {"img": ref(registry, "nine-minds/alga-psa-ee", "979e2079")},
        insecure_registries=[],
        timeout=3,
    )
    assert result.outcome == "unreachable"
    assert result.error is not None and "TLS" in result.error
    assert result.attempts == 1  # TLS failures are not retried


def test_mirror_serves_the_original_reference(registry: RegistryServer, pushed: dict[str, str]) -> None:
    image = ImageRef(repository="ghcr.io/nine-minds/alga-psa-ee", tag="979e2079")
    [result] = check_images(
        {"alga-core": image}, mirrors={"ghcr.io": registry.host}, insecure_registries=[registry.host]
    )
    assert result.outcome == "present"
    assert result.digest == pushed["docker"]
    assert result.image == "ghcr.io/nine-minds/alga-psa-ee:979e2079"
