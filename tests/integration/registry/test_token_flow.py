"""The registry token flow against distribution's ``auth: token`` and a loopback token endpoint."""

from __future__ import annotations

import base64

import pytest

from appliance_cli.adapters.registry import Credentials, RegistryChecker, auth_env_name, credentials_from_env
from appliance_cli.releases import ImageRef
from tests.integration.registry.conftest import SERVICE, TokenRegistry
from tests.integration.registry.support import Reply, push_image, scripted

pytestmark = pytest.mark.registry

REPO = "nine-minds/workflow-worker"
OTHER = "nine-minds/temporal-worker"


@pytest.fixture(scope="module")
def pushed(token_registry_session: TokenRegistry) -> dict[str, str]:
    tr = token_registry_session
    base = tr.registry.url
    return {
        "a": push_image(base, REPO, "a", headers=tr.push_headers(REPO))[0],
        "b": push_image(base, REPO, "b", seed="b", headers=tr.push_headers(REPO))[0],
        "other": push_image(base, OTHER, "a", headers=tr.push_headers(OTHER))[0],
    }


def refs(tr: TokenRegistry, *pairs: tuple[str, str]) -> dict[str, ImageRef]:
    return {
        f"{path}:{tag}": ImageRef(repository=f"{tr.registry.host}/{path}", tag=tag) for path, tag in pairs
    }


def test_client_follows_the_bearer_challenge_and_reuses_the_token_per_scope(
    token_registry: TokenRegistry, pushed: dict[str, str]
) -> None:
    images = refs(token_registry, (REPO, "a"), (REPO, "b"), (REPO, "missing"), (OTHER, "a"))
    with RegistryChecker(insecure_registries=[token_registry.registry.host], credentials={}) as checker:
        results = checker.check(images)
        again = checker.check(refs(token_registry, (REPO, "a"), (OTHER, "a")))
    by_key = {r.key: r for r in results}
    assert by_key[f"{REPO}:a"].digest == pushed["a"]
    assert by_key[f"{REPO}:b"].digest == pushed["b"]
    assert by_key[f"{OTHER}:a"].digest == pushed["other"]
    assert by_key[f"{REPO}:missing"].outcome == "missing"
    assert [r.outcome for r in again] == ["present", "present"]
    requests = token_registry.tokens.policy.requests
    # One anonymous token per repository scope, shared by concurrent checks and reused later.
    assert sorted(r.scope for r in requests) == sorted(
        [f"repository:{REPO}:pull", f"repository:{OTHER}:pull"]
    )
    assert {r.service for r in requests} == {SERVICE}
    assert {r.username for r in requests} == {None}
    assert checker.token_requests == 2


def test_known_challenge_saves_the_unauthenticated_round_trip(
    token_registry: TokenRegistry, pushed: dict[str, str]
) -> None:
    with RegistryChecker(
        insecure_registries=[token_registry.registry.host], credentials={}, concurrency=1
    ) as checker:
        first, second = checker.check(refs(token_registry, (REPO, "a"), (OTHER, "a")))
    assert (first.outcome, second.outcome) == ("present", "present")
    assert first.attempts == 3  # HEAD → 401, token, HEAD
    assert second.attempts == 2  # token (challenge known), HEAD


@pytest.mark.parametrize("mode", ["refuse", "no-access"])
def test_refused_token_is_unauthorized_not_missing(
    token_registry: TokenRegistry, pushed: dict[str, str], mode: str
) -> None:
    token_registry.tokens.policy.mode = mode
    with RegistryChecker(insecure_registries=[token_registry.registry.host], credentials={}) as checker:
        [result] = checker.check(refs(token_registry, (REPO, "a")))
    assert result.outcome == "unauthorized"
    assert not result.definite
    assert result.status_code == 401
    assert len(token_registry.tokens.policy.requests) == 1  # a refused fresh token is not re-requested


def test_environment_credentials_reach_the_token_endpoint_and_stay_secret(
    token_registry: TokenRegistry, pushed: dict[str, str]
) -> None:
    host = token_registry.registry.host
    secret = "ghp_s3cr3t-value-never-printed"
    token_registry.tokens.policy.basic = ("robot", secret)
    creds = credentials_from_env({auth_env_name(host): f"robot:{secret}"})
    with RegistryChecker(insecure_registries=[host], credentials=creds) as checker:
        [ok] = checker.check(refs(token_registry, (REPO, "a")))
    assert ok.outcome == "present"
    assert token_registry.tokens.policy.requests[0].username == "robot"

    wrong = credentials_from_env({auth_env_name(host): "robot:wrong-secret-value"})
    with RegistryChecker(insecure_registries=[host], credentials=wrong) as checker:
        [denied] = checker.check(refs(token_registry, (OTHER, "a")))
    assert denied.outcome == "unauthorized"
    assert "wrong-secret-value" not in denied.model_dump_json()
    assert "token request refused" in (denied.error or "")


def test_basic_challenge_is_answered_with_environment_credentials() -> None:
    header = "Basic " + base64.b64encode(b"robot:pa55word-xyz").decode()
    challenge = {"WWW-Authenticate": 'Basic realm="private"'}
    present = {"Docker-Content-Digest": "sha256:" + "ab" * 32}

    with scripted([Reply(401, challenge), Reply(200, present), Reply(200, present)]) as server:
        image = {"img": ImageRef(repository=f"{server.host}/team/app", tag="1")}
        with RegistryChecker(
            insecure_registries=[server.host], credentials={server.host: Credentials("robot", "pa55word-xyz")}
        ) as checker:
            [result] = checker.check(image)
            [again] = checker.check(image)
        assert result.outcome == "present" and again.outcome == "present"
        assert "Authorization" not in server.hits[0].headers
        assert server.hits[1].headers["Authorization"] == header
        assert server.hits[2].headers["Authorization"] == header  # known challenge: sent up front

    with scripted([Reply(401, challenge)]) as server:
        image = {"img": ImageRef(repository=f"{server.host}/team/app", tag="1")}
        with RegistryChecker(insecure_registries=[server.host], credentials={}) as checker:
            [result] = checker.check(image)
        assert result.outcome == "unauthorized"
        assert auth_env_name(server.host) in (result.error or "")
