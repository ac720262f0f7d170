"""The one redactor every status output goes through: free text, secret keys, known secrets,
and the rule wordings the classifier matches left intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance_cli.status.classify import classify
from appliance_cli.status.redact import REDACTED, redact, redact_json, redact_snapshot, secret_key
from tests.cli_runner import invoke
from tests.unit.status import builders

STATUS_TOKEN = "status-token-9f8e7d6c5b4a39281706"


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("password=hunter2 and more", "hunter2"),
        (f"token {STATUS_TOKEN}", STATUS_TOKEN),
        ("Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
        ("postgres://alga:Pg-S3cret@db:5432/server", "Pg-S3cret"),
        ('{"api_key": "ak-123456"}', "ak-123456"),
        ("adminPassword: swordfish", "swordfish"),
    ],
)
def test_secrets_in_free_text_are_replaced(text: str, gone: str) -> None:
    out = redact(text)
    assert gone not in out and REDACTED in out


@pytest.mark.parametrize(
    "text",
    [
        "couldn't find key DB_PASSWORD in Secret msp/db-credentials",
        'secret "db-credentials" not found',
        "Error: unauthorized: authentication required",
        "failed to authorize: failed to fetch anonymous token",
        'Back-off pulling image "ghcr.io/nine-minds/alga-psa:1.0"',
        "token refresh failed for serviceaccount",
    ],
)
def test_the_wordings_rules_match_are_left_alone(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("api_key", True),
        ("DB_PASSWORD", True),
        ("adminPassword", True),
        ("token", True),
        ("secretName", False),
        ("appUrl", False),
        ("facts.json", False),
        ("key", False),
    ],
)
def test_secret_keys(key: str, secret: bool) -> None:
    assert secret_key(key) is secret


def test_values_under_secret_keys_and_env_vars_go_whole() -> None:
    value = {
        "data": {"api_key": "abc", "appUrl": "http://10.0.0.5:3000"},
        "env": [{"name": "SECRET_KEY_BASE", "value": "x" * 10}, {"name": "PORT", "value": "3000"}],
        "managedFields": [{"fieldsV1": {"f:data": {"f:api_key": {}}}}],
    }
    out = redact_json(value, extra=())
    assert out["data"] == {"api_key": REDACTED, "appUrl": "http://10.0.0.5:3000"}
    assert out["env"] == [{"name": "SECRET_KEY_BASE", "value": REDACTED}, {"name": "PORT", "value": "3000"}]
    assert out["managedFields"] == value["managedFields"]


def test_a_redacted_snapshot_classifies_like_the_original_and_hides_known_secrets() -> None:
    cluster = builders.healthy_cluster()
    pod = cluster.pod_of("db")
    cluster.put(builders.event(pod, "Echo", f"echo {STATUS_TOKEN} password=hunter2", minutes_ago=0.1))
    snap = cluster.snapshot()
    clean = redact_snapshot(snap, extra=(STATUS_TOKEN,))
    text = clean.to_json()
    assert STATUS_TOKEN not in text and "hunter2" not in text
    assert classify(clean).rollup.state == classify(snap).rollup.state
    assert [b.code for b in classify(clean).top_blockers] == [b.code for b in classify(snap).top_blockers]


def test_status_of_a_snapshot_file_shows_no_secret(tmp_path: Path) -> None:
    cluster = builders.healthy_cluster()
    cluster.put(builders.event(cluster.pod_of("db"), "Echo", "db init password=hunter2", minutes_ago=0.1))
    path = tmp_path / "snapshot.json"
    path.write_text(cluster.snapshot().to_json())
    result = invoke(["status", "--snapshot", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output and "db init password=<redacted>" in result.output


def _versioned_echo(resource_version: str, message: str) -> builders.Cluster:
    cluster = builders.healthy_cluster()
    ev = builders.event(cluster.pod_of("db"), "Echo", message, minutes_ago=0.1)
    ev["metadata"].update(uid="ev-uid-1", resourceVersion=resource_version)
    cluster.put(ev)
    return cluster


def _echo(snap: object) -> dict[str, object]:
    from appliance_cli.status.snapshot import ClusterSnapshot

    assert isinstance(snap, ClusterSnapshot)
    (ev,) = [e for e in snap.items("v1/events") if e["reason"] == "Echo"]
    return ev


def test_an_object_collected_again_unchanged_is_redacted_once_and_a_changed_one_again() -> None:
    first = redact_snapshot(_versioned_echo("7", "db password=hunter2").snapshot(), extra=(STATUS_TOKEN,))
    again = redact_snapshot(_versioned_echo("7", "db password=hunter2").snapshot(), extra=(STATUS_TOKEN,))
    assert _echo(again) is _echo(first)  # same uid and resourceVersion: the same redacted object
    assert _echo(first)["message"] == f"db password={REDACTED}"
    # a new resourceVersion is a changed object: redacted afresh, never served from before
    changed = redact_snapshot(
        _versioned_echo("8", f"echo {STATUS_TOKEN} token").snapshot(), extra=(STATUS_TOKEN,)
    )
    assert _echo(changed) is not _echo(first)
    assert _echo(changed)["message"] == f"echo {REDACTED} token"
    # the same uid and resourceVersion from another cluster or file, other content: not reused
    elsewhere = redact_snapshot(_versioned_echo("7", "token: abc123").snapshot(), extra=(STATUS_TOKEN,))
    assert _echo(elsewhere)["message"] == f"token: {REDACTED}"
    # other secrets to hide: nothing redacted for different ones is reused
    other = redact_snapshot(_versioned_echo("7", "db password=hunter2").snapshot(), extra=("another-secret",))
    assert _echo(other) is not _echo(first)


@pytest.mark.parametrize(
    "text",
    [
        "PASSWORD=x",
        "Api-Key: 1",
        "see HTTPS://host/x",
        "eyJhbGciOi",
        "ghp_abc",
        "akiaXYZ",
        "AKIA1234",
        "Successfully pulled image",
        "Readiness probe failed: timeout",
        "db paſsword=hunter2",  # 'ſ' is an 's' to a case-insensitive match
        "tOkEn",
        "",
    ],
)
def test_the_ascii_fast_test_finds_what_the_case_insensitive_one_finds(text: str) -> None:
    from appliance_cli.status.redact import _MAYBE, _maybe_secret

    assert _maybe_secret(text) == (_MAYBE.search(text) is not None)


def test_walked_text_with_a_secret_in_unicode_case_is_still_redacted() -> None:
    out = redact_json({"message": "db paſsword=hunter2hunter2 here", "reason": "Failed"})
    assert "hunter2hunter2" not in str(out) and out["reason"] == "Failed"
