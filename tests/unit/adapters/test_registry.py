"""Pure parts of the registry adapter: challenges, Retry-After, references, credentials."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from appliance_cli.adapters.registry import (
    ACCEPT,
    Challenge,
    Credentials,
    auth_env_name,
    credentials_from_env,
    display_reference,
    mirrors_from_env,
    parse_image_reference,
    parse_retry_after,
    parse_www_authenticate,
)
from appliance_cli.errors import UsageError


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:nine-minds/alga-psa-ee:pull"',
            Challenge(
                "bearer",
                {
                    "realm": "https://ghcr.io/token",
                    "service": "ghcr.io",
                    "scope": "repository:nine-minds/alga-psa-ee:pull",
                },
            ),
        ),
        (
            'Bearer realm="https://auth.docker.io/token", service="registry.docker.io", '
            'error="insufficient_scope"',
            Challenge(
                "bearer",
                {
                    "realm": "https://auth.docker.io/token",
                    "service": "registry.docker.io",
                    "error": "insufficient_scope",
                },
            ),
        ),
        ('Basic realm="Registry Realm"', Challenge("basic", {"realm": "Registry Realm"})),
        ("Basic", Challenge("basic", {})),
        ("", None),
    ],
)
def test_www_authenticate_challenges_are_parsed(header: str, expected: Challenge | None) -> None:
    got = parse_www_authenticate(header)
    if expected is None:
        assert got is None
    else:
        assert got is not None
        assert (got.scheme, dict(got.params)) == (expected.scheme, dict(expected.params))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", 7.0), ("0", 0.0), (None, None), ("soon", None), ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0)],
)
def test_retry_after_accepts_seconds_and_http_dates(value: str | None, expected: float | None) -> None:
    now = 1445412480.0  # 07:28:00 GMT that day
    assert parse_retry_after(value, now=now) == expected


@pytest.mark.parametrize(
    ("text", "repository", "tag", "shown"),
    [
        (
            "factory.talos.dev/installer/3765679:v1.12.0",
            "factory.talos.dev/installer/3765679",
            "v1.12.0",
            "factory.talos.dev/installer/3765679:v1.12.0",
        ),
        ("127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app", "latest", "127.0.0.1:5000/team/app:latest"),
        (
            "ghcr.io/a/b@sha256:" + "0" * 64,
            "ghcr.io/a/b",
            "sha256:" + "0" * 64,
            "ghcr.io/a/b@sha256:" + "0" * 64,
        ),
        (
            "factory.talos.dev/metal-installer/3765679:v1.12.0@sha256:" + "c" * 64,
            "factory.talos.dev/metal-installer/3765679",
            "sha256:" + "c" * 64,
            "factory.talos.dev/metal-installer/3765679@sha256:" + "c" * 64,
        ),
        ("nginx:1.27", "docker.io/library/nginx", "1.27", "docker.io/library/nginx:1.27"),
        ("bitnami/redis", "docker.io/bitnami/redis", "latest", "docker.io/bitnami/redis:latest"),
    ],
)
def test_image_references_are_normalised(text: str, repository: str, tag: str, shown: str) -> None:
    ref = parse_image_reference(text)
    assert (ref.repository, ref.tag) == (repository, tag)
    assert display_reference(ref) == shown


def test_accept_header_names_the_four_manifest_media_types() -> None:
    assert ACCEPT.split(", ") == [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("ghcr.io", "ALGA_REGISTRY_AUTH_GHCR_IO"),
        ("registry.example.com:5000", "ALGA_REGISTRY_AUTH_REGISTRY_EXAMPLE_COM_5000"),
        ("127.0.0.1:5000", "ALGA_REGISTRY_AUTH_127_0_0_1_5000"),
    ],
)
def test_credential_variable_names(host: str, name: str) -> None:
    assert auth_env_name(host) == name


def test_credentials_from_env_and_docker_config(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "auths": {
                    "https://ghcr.io": {"auth": base64.b64encode(b"file-user:file-token").decode()},
                    "registry.example.com": {"username": "u", "password": "p"},
                }
            }
        )
    )
    creds = credentials_from_env(
        {"ALGA_REGISTRY_AUTH_FILE": str(config), "ALGA_REGISTRY_AUTH_GHCR_IO": "env-user:env-token"}
    )
    assert creds["ghcr.io"] == Credentials("env-user", "env-token")  # the variable wins over the file
    assert creds["registry.example.com"] == Credentials("u", "p")
    assert "env-token" not in repr(creds)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ALGA_REGISTRY_AUTH_GHCR_IO": "no-colon-secret"}, "ALGA_REGISTRY_AUTH_GHCR_IO"),
        ({"ALGA_REGISTRY_AUTH_GHCR_IO": ":only-secret"}, "ALGA_REGISTRY_AUTH_GHCR_IO"),
        ({"ALGA_REGISTRY_AUTH_FILE": "/nonexistent/config.json"}, "ALGA_REGISTRY_AUTH_FILE"),
    ],
)
def test_malformed_credentials_name_the_variable_and_hide_the_value(env: dict[str, str], named: str) -> None:
    with pytest.raises(UsageError) as exc:
        credentials_from_env(env)
    assert exc.value.exit_code == 2
    assert named in str(exc.value)
    assert "secret" not in str(exc.value)


def test_mirrors_from_env() -> None:
    env = {"ALGA_REGISTRY_MIRRORS": "ghcr.io=127.0.0.1:5000, docker.io=mirror.local"}
    assert mirrors_from_env(env) == {"ghcr.io": "127.0.0.1:5000", "docker.io": "mirror.local"}
    with pytest.raises(UsageError, match="ALGA_REGISTRY_MIRRORS"):
        mirrors_from_env({"ALGA_REGISTRY_MIRRORS": "ghcr.io"})
