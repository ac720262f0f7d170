"""Branch checks with real ``git``: what Flux will read is the remote, not the worktree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from appliance_cli.adapters.process import ProcessRunner, SubprocessRunner
from appliance_cli.errors import CommandError

GIT_TIMEOUT = 30.0


@dataclass(frozen=True)
class RemoteBranch:
    exists: bool
    sha: str | None = None
    error: str | None = None


class GitRepo:
    """A local checkout (the worktree the operator runs from)."""

    def __init__(self, path: Path, runner: ProcessRunner | None = None) -> None:
        self.path = path
        self.runner = runner or SubprocessRunner()

    def _git(self, *args: str, check: bool = True) -> str:
        result = self.runner.run(["git", "-C", str(self.path), *args], timeout=GIT_TIMEOUT, check=check)
        return result.stdout.strip()

    def is_repo(self) -> bool:
        try:
            return self._git("rev-parse", "--is-inside-work-tree") == "true"
        except CommandError:
            return False

    def current_branch(self) -> str | None:
        """The checked-out branch; None when HEAD is detached."""
        name = self._git("rev-parse", "--abbrev-ref", "HEAD")
        return None if name == "HEAD" else name

    def origin_url(self) -> str | None:
        try:
            return self._git("remote", "get-url", "origin") or None
        except CommandError:
            return None

    def remote_branch(self, repo_url: str, branch: str) -> RemoteBranch:
        """``git ls-remote --heads <repo-url> <branch>``: does the remote have the branch?"""
        try:
            out = self.runner.run(
                ["git", "ls-remote", "--heads", repo_url, f"refs/heads/{branch}"],
                timeout=GIT_TIMEOUT,
                cwd=self.path,
                env={"GIT_TERMINAL_PROMPT": "0"},
            ).stdout
        except CommandError as exc:
            return RemoteBranch(False, error=(exc.stderr.strip() or exc.message).splitlines()[-1])
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            if ref.strip() == f"refs/heads/{branch}":
                return RemoteBranch(True, sha=sha.strip())
        return RemoteBranch(False)

    def has_commit(self, sha: str) -> bool:
        try:
            self._git("cat-file", "-e", f"{sha}^{{commit}}")
            return True
        except CommandError:
            return False

    def unpushed_commits(self, remote_sha: str | None) -> int | None:
        """Commits on HEAD that the remote branch does not have (None when unknown)."""
        base: str | None = None
        if remote_sha and self.has_commit(remote_sha):
            base = remote_sha
        else:
            try:
                self._git("rev-parse", "--verify", "--quiet", "@{u}")
                base = "@{u}"
            except CommandError:
                return None
        try:
            return int(self._git("rev-list", "--count", f"{base}..HEAD") or "0")
        except (CommandError, ValueError):
            return None

    def dirty_files(self) -> list[str]:
        """Uncommitted changes (tracked and untracked), as ``git status --porcelain`` paths."""
        out = self._git("status", "--porcelain")
        return [line[3:] for line in out.splitlines() if line.strip()]
