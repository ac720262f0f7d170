"""--branch-override / --require-remote-branch against real Git repositories (a bare remote in tmp)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from appliance_cli.adapters.git import GitRepo
from tests.cli_runner import invoke

ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def git(cwd: Path, *args: str) -> str:
    import os

    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env={**os.environ, **ENV}
    ).stdout.strip()


@pytest.fixture
def repos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    remote = tmp_path / "remote.git"
    work = tmp_path / "work"
    git(tmp_path, "init", "--bare", "-b", "main", str(remote))
    git(tmp_path, "clone", str(remote), str(work))
    git(work, "checkout", "-b", "main")
    (work / "README").write_text("x\n")
    git(work, "add", "README")
    git(work, "commit", "-m", "first")
    git(work, "push", "-u", "origin", "main")
    monkeypatch.chdir(work)
    return remote, work


def bootstrap(remote: Path, *extra: str) -> object:
    return invoke(
        [
            "bootstrap",
            "--bootstrap-mode",
            "fresh",
            "--release-version",
            "1.0-rc5",
            "--node-ip",
            "10.0.0.5",
            "--repo-url",
            f"file://{remote}",
            "--dry-run",
            "--progress",
            "plain",
            *extra,
        ]
    )


def test_current_branch_on_the_remote_is_used_and_summarised(
    repos: tuple[Path, Path], _isolated_home: Path
) -> None:
    remote, work = repos
    git(work, "checkout", "-b", "feature/status-page")
    git(work, "push", "-u", "origin", "feature/status-page")
    r = bootstrap(remote, "--branch-override", "current")
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    out = r.stdout  # type: ignore[attr-defined]
    assert (
        f"Flux source: repo file://{remote} branch feature/status-page path ./flux/base mode fresh "
        "release 1.0-rc5 release branch release/1.0-rc5"
    ) in out
    assert "differs from the release branch" in out
    assert "not pushed" not in r.stderr and "uncommitted" not in r.stderr  # type: ignore[attr-defined]
    assert list(_isolated_home.iterdir()) == []


def test_missing_remote_branch_exits_2_before_anything_is_mutated(
    repos: tuple[Path, Path], _isolated_home: Path
) -> None:
    remote, work = repos
    git(work, "checkout", "-b", "local-only")
    for extra in ([], ["--require-remote-branch"]):
        r = invoke(
            [
                "bootstrap",
                "--bootstrap-mode",
                "fresh",
                "--release-version",
                "1.0-rc5",
                "--node-ip",
                "10.0.0.5",
                "--repo-url",
                f"file://{remote}",
                "--branch-override",
                "current",
                *extra,
            ]
        )
        assert r.exit_code == 2, r.output
        assert "--branch-override" in r.stderr and "'local-only' does not exist" in r.stderr
        assert list(_isolated_home.iterdir()) == []


def test_named_branch_missing_on_the_remote_is_refused(repos: tuple[Path, Path]) -> None:
    remote, _ = repos
    r = bootstrap(remote, "--branch-override", "release/9.9")
    assert r.exit_code == 2  # type: ignore[attr-defined]
    assert "'release/9.9' does not exist" in r.stderr  # type: ignore[attr-defined]


def test_unreachable_remote_warns_or_stops_with_require_remote_branch(
    repos: tuple[Path, Path], tmp_path: Path
) -> None:
    gone = tmp_path / "nowhere.git"
    r = bootstrap(gone, "--branch-override", "main")
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    assert "could not ask" in r.stderr  # type: ignore[attr-defined]
    r = bootstrap(gone, "--branch-override", "main", "--require-remote-branch")
    assert r.exit_code == 2  # type: ignore[attr-defined]
    assert "--require-remote-branch" in r.stderr  # type: ignore[attr-defined]


def test_unpushed_commits_and_a_dirty_tree_are_warnings(repos: tuple[Path, Path]) -> None:
    remote, work = repos
    (work / "README").write_text("changed\n")
    git(work, "commit", "-am", "local change")
    (work / "untracked.txt").write_text("y\n")
    r = bootstrap(remote, "--branch-override", "current")
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    assert "1 local commit(s) on 'main' are not pushed" in r.stderr  # type: ignore[attr-defined]
    assert "1 uncommitted change(s)" in r.stderr  # type: ignore[attr-defined]


def test_git_repo_adapter_facts(repos: tuple[Path, Path]) -> None:
    remote, work = repos
    repo = GitRepo(work)
    assert repo.is_repo() and repo.current_branch() == "main"
    head = git(work, "rev-parse", "HEAD")
    rb = repo.remote_branch(f"file://{remote}", "main")
    assert rb.exists and rb.sha == head
    assert repo.unpushed_commits(rb.sha) == 0
    assert not repo.remote_branch(f"file://{remote}", "nope").exists
    git(work, "checkout", "--detach")
    assert repo.current_branch() is None
