"""Which repository and branch Flux will read (``--repo-url``, ``--branch-override``).

Runs before anything is mutated: a branch that the remote does not have is bad input
(exit 2), because Flux reads the remote, not the worktree. Unpushed commits and uncommitted
changes are warnings. The Flux source summary is shown to the operator.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from appliance_cli.adapters.git import GitRepo
from appliance_cli.errors import UsageError
from appliance_cli.paths import REPO_ROOT

if TYPE_CHECKING:
    from appliance_cli.bootstrap.context import BootstrapContext

DEFAULT_REPO_URL = "https://github.com/Nine-Minds/alga-appliance.git"
DEFAULT_BRANCH = "main"
FLUX_PATH = "./flux/base"


def _worktree() -> GitRepo:
    cwd = GitRepo(Path.cwd())
    return cwd if cwd.is_repo() else GitRepo(REPO_ROOT)


def resolve_source(ctx: BootstrapContext) -> None:
    o = ctx.options
    journal = ctx.journal
    repo_url = o.repo_url or journal.fact("applianceRepoUrl")
    branch = journal.fact("applianceBranch") or DEFAULT_BRANCH
    if o.branch_override:
        repo = _worktree()
        if o.branch_override == "current":
            if not repo.is_repo():
                raise UsageError(
                    "'current' needs a Git checkout to read the branch from", param="--branch-override"
                )
            current = repo.current_branch()
            if current is None:
                raise UsageError(
                    "HEAD is detached: check out a branch or name one", param="--branch-override"
                )
            branch = current
        else:
            branch = o.branch_override
        repo_url = repo_url or (repo.origin_url() if repo.is_repo() else None) or DEFAULT_REPO_URL
        remote = repo.remote_branch(repo_url, branch)
        if remote.error is not None:
            msg = f"could not ask {repo_url} for branch {branch!r}: {remote.error}"
            if o.require_remote_branch:
                raise UsageError(msg, param="--require-remote-branch")
            ctx.warn(msg)
        elif not remote.exists:
            raise UsageError(
                f"branch {branch!r} does not exist on {repo_url} (Flux reads the remote, not this worktree)",
                param="--branch-override",
                hint=f"push it first: git push -u origin {branch}",
            )
        if repo.is_repo():
            unpushed = repo.unpushed_commits(remote.sha)
            if unpushed:
                ctx.warn(f"{unpushed} local commit(s) on {branch!r} are not pushed; Flux will not see them")
            dirty = repo.dirty_files()
            if dirty:
                ctx.warn(f"{len(dirty)} uncommitted change(s) in the worktree; Flux will not see them")
    repo_url = repo_url or DEFAULT_REPO_URL
    journal.set_fact("applianceRepoUrl", repo_url)
    journal.set_fact("applianceBranch", branch)
    rel = ctx.release
    summary = (
        f"Flux source: repo {repo_url} branch {branch} path {FLUX_PATH} mode {o.bootstrap_mode} "
        f"release {rel.version} release branch {rel.app.release_branch}"
    )
    ctx.announce(summary)
    if o.branch_override and branch != rel.app.release_branch:
        ctx.announce(
            f"Note: the appliance branch {branch!r} differs from the release branch "
            f"{rel.app.release_branch!r} (branch under test)"
        )
