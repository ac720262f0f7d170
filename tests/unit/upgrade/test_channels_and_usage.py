"""Release channels name real releases; bad input to the day-2 commands is exit 2 with nothing touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance_cli.errors import UsageError
from appliance_cli.paths import releases_dir
from appliance_cli.releases import available_versions, load_release
from appliance_cli.upgrade.engine import resolve_channel
from tests.cli_runner import invoke

CHANNELS = Path(releases_dir()) / "channels"


@pytest.mark.parametrize("channel", ["candidate", "stable"])
def test_a_channel_names_a_release_of_releases_dir_or_says_there_is_none(channel: str) -> None:
    data = json.loads((CHANNELS / f"{channel}.json").read_text())
    assert data["channel"] == channel
    version = data["releaseVersion"]
    if version is None:
        assert data["note"]  # says why, instead of inventing a release
        return
    assert version in available_versions()
    assert load_release(version).version == version


def test_candidate_resolves_and_stable_refuses_naming_the_flag() -> None:
    assert (
        resolve_channel("candidate")
        == json.loads((CHANNELS / "candidate.json").read_text())["releaseVersion"]
    )
    with pytest.raises(UsageError) as info:
        resolve_channel("stable")
    assert info.value.param == "--channel" and "no stable release" in info.value.message
    with pytest.raises(UsageError, match="unknown channel"):
        resolve_channel("nightly")


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["upgrade"], "--release-version"),
        (["upgrade", "--release-version", "1.0-rc5", "--channel", "candidate"], "--release-version"),
        (["upgrade", "--channel", "stable"], "--channel"),
        (["upgrade", "--release-version", "1.0-rc5", "--progress", "fancy"], "--progress"),
        (["upgrade", "--release-version", "1.0-rc5", "--site-id", "nowhere"], "--site-id"),
        (["restore", "--from", "x.dump"], "--force"),
        (["restore", "--from", "x.dump", "--dry-run", "--force"], "--force"),
        (["backup", "--site-id", "nowhere"], "--site-id"),
    ],
)
def test_bad_input_is_exit_2_naming_the_flag_and_writes_nothing(
    args: list[str], flag: str, _isolated_home: Path
) -> None:
    r = invoke(args)
    assert r.exit_code == 2, r.output
    assert flag in r.stderr
    assert not any(_isolated_home.rglob("*"))  # no site directory, no lock, no journal


def test_an_unknown_release_is_exit_2(_isolated_home: Path) -> None:
    site = _isolated_home / "s1"
    site.mkdir()
    (site / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n")
    r = invoke(["upgrade", "--site-id", "s1", "--release-version", "9.9-nope"])
    assert r.exit_code == 2, r.output
    assert "unknown release '9.9-nope'" in r.stderr
    assert sorted(p.name for p in site.iterdir()) == ["kubeconfig"]
