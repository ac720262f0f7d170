"""Bad input to `appliance bootstrap`: one clear message naming the flag, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runner import invoke

BASE = ["bootstrap", "--bootstrap-mode", "fresh", "--release-version", "1.0-rc5", "--node-ip", "10.0.0.5"]


def _files(home: Path) -> list[Path]:
    return sorted(p for p in home.rglob("*"))


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--node-ip", "10.0.0.300"], "--node-ip"),
        (["--node-ip", "node.example"], "--node-ip"),
        (["--release-version", "9.9-nope"], "--release-version"),
        (["--bootstrap-mode", "again"], "--bootstrap-mode"),
        (["--network-mode", "static"], "--static-address"),
        (["--network-mode", "static", "--static-address", "10.0.0.5/24"], "--static-gateway"),
        (
            ["--network-mode", "static", "--static-address", "10.0.0.5", "--static-gateway", "10.0.0.1"],
            "--static-address",
        ),
        (
            [
                "--network-mode",
                "static",
                "--static-address",
                "10.0.0.5/24",
                "--static-gateway",
                "10.9.0.1",
                "--interface",
                "eth0",
            ],
            "--static-gateway",
        ),
        (["--static-address", "10.0.0.5/24"], "--static-address"),
        (["--network-mode", "bridge"], "--network-mode"),
        (["--dns-servers", "1.1.1.1,dns.google"], "--dns-servers"),
        (["--app-url", "ftp://alga.example"], "--app-url"),
        (["--app-url", "alga.example"], "--app-url"),
        (["--repo-url", "not a url"], "--repo-url"),
        (["--hostname", "Bad_Host"], "--hostname"),
        (["--install-disk", "sda"], "--install-disk"),
        (["--kubeconfig", "/nonexistent/kubeconfig"], "--kubeconfig"),
        (["--talosconfig", "/nonexistent/talosconfig"], "--talosconfig"),
        (["--site-id", "Bad Site"], "--site-id"),
        (["--require-remote-branch"], "--require-remote-branch"),
        (["--branch-override", "bad..branch"], "--branch-override"),
        (["--progress", "fancy"], "--progress"),
    ],
)
def test_bad_input_names_the_flag_exits_2_and_writes_nothing(
    args: list[str], flag: str, _isolated_home: Path
) -> None:
    before = _files(_isolated_home)
    result = invoke([*BASE, *args])
    assert result.exit_code == 2, result.output
    assert flag in result.stderr
    assert result.stderr.count("error:") <= 1
    assert _files(_isolated_home) == before


def test_force_with_recover_is_refused() -> None:
    result = invoke(
        [
            "bootstrap",
            "--bootstrap-mode",
            "recover",
            "--release-version",
            "1.0-rc5",
            "--node-ip",
            "10.0.0.5",
            "--force",
        ]
    )
    assert result.exit_code == 2
    assert "--force" in result.stderr


def test_help_states_consequences_and_defaults() -> None:
    result = invoke(["bootstrap", "--help"])
    assert result.exit_code == 0
    for flag in ("--dry-run", "--branch-override", "--skip-image-tag-validation", "--prepull-images"):
        assert flag in result.stdout
    assert "Default" in result.stdout


def test_dry_run_prints_the_plan_and_writes_nothing(_isolated_home: Path) -> None:
    result = invoke([*BASE, "--dry-run", "--progress", "plain", "--hostname", "alga"])
    assert result.exit_code == 0, result.output
    assert "Plan (dry run" in result.stdout
    assert "talosctl apply-config --insecure --nodes 10.0.0.5 --file" in result.stdout
    assert "apply Kustomization flux-system/alga-platform" in result.stdout
    assert "wait up to" in result.stdout
    assert _files(_isolated_home) == []
