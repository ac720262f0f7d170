"""The console's actions: the same engines, options and validation as the commands.

Each action takes the form's raw values, validates them exactly as its command does
(``bootstrap.options.build_options``, the reset's cluster and plan, the bundle's output
directory), plans first (a dry run: nothing mutated) and then runs with a reporter. Nothing
here draws or prints; the console shows the returned lines.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance_cli.progress import NullReporter, Reporter

if TYPE_CHECKING:
    from appliance_cli.bootstrap.engine import BootstrapResult
    from appliance_cli.bootstrap.options import BootstrapOptions
    from appliance_cli.reset.model import ResetPlan
    from appliance_cli.reset.run import Cluster

NOT_AVAILABLE = "not available in this version"


@dataclass(frozen=True)
class MenuEntry:
    key: str
    label: str
    group: str
    available: bool = True
    note: str = ""


# The upgrade engine is an optional part of a build: reached by name, listed disabled
# ("not available in this version") when a build does not carry it.
UPGRADE_ENGINE, UPGRADE_RENDER = "appliance_cli.upgrade.engine", "appliance_cli.upgrade.render"


def _module(name: str, *attrs: str) -> Any | None:
    """The module ``name`` when it is installed and has ``attrs``; else ``None``."""
    try:
        if importlib.util.find_spec(name) is None:
            return None
        module = importlib.import_module(name)
    except (ImportError, ValueError):
        return None
    return module if all(hasattr(module, a) for a in attrs) else None


def upgrade_engine() -> Any | None:
    return _module(UPGRADE_ENGINE, "run", "UpgradeOptions", "resolve_channel")


def menu() -> list[MenuEntry]:
    """The console's actions, as in the previous console: Operations, then System."""
    upgrade = upgrade_engine() is not None
    return [
        MenuEntry("bootstrap", "Bootstrap", "Operations"),
        MenuEntry("upgrade", "Upgrade", "Operations", upgrade, "" if upgrade else NOT_AVAILABLE),
        MenuEntry("status", "Status", "Operations"),
        MenuEntry("workloads", "Workloads", "Operations"),
        MenuEntry("repair", "Repair release", "System"),
        MenuEntry("support-bundle", "Support bundle", "System"),
        MenuEntry("reset", "Reset", "System"),
    ]


# Bootstrap ---------------------------------------------------------------------------------
BOOTSTRAP_FIELDS: tuple[tuple[str, str, str], ...] = (
    # (option name, flag, what the form shows)
    ("bootstrap_mode", "--bootstrap-mode", "Mode (fresh | recover)"),
    ("release_version", "--release-version", "Release version"),
    ("node_ip", "--node-ip", "Node IP"),
    ("hostname", "--hostname", "Hostname (optional)"),
    ("app_url", "--app-url", "App URL (optional)"),
    ("network_mode", "--network-mode", "Network (dhcp | static)"),
    ("interface", "--interface", "Interface (static only)"),
    ("static_address", "--static-address", "Static address CIDR"),
    ("static_gateway", "--static-gateway", "Static gateway"),
    ("dns_servers", "--dns-servers", "DNS servers (a,b)"),
    ("install_disk", "--install-disk", "Install disk (optional)"),
)
BOOTSTRAP_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("skip_image_tag_validation", "--skip-image-tag-validation", "Skip image tag validation"),
    ("prepull_images", "--prepull-images", "Pre-pull images"),
    ("force", "--force", "Force (fresh over an installed appliance: reset first)"),
)


def bootstrap_defaults(site_id: str) -> dict[str, str]:
    """What the form starts with: the command's defaults and what the site already knows."""
    from appliance_cli.env import open_env
    from appliance_cli.site import Site

    site = Site.open(site_id)
    env = open_env(site)
    journal_release = ""
    try:
        import json

        data = json.loads(site.journal_file.read_text())
        journal_release = str(data.get("releaseVersion") or "")
        mode = "recover" if data.get("phases") else "fresh"
    except (OSError, ValueError):
        mode = "fresh"
    return {
        "bootstrap_mode": mode,
        "release_version": journal_release,
        "node_ip": env.node_ip or "",
        "network_mode": "dhcp",
        "app_url": site.read("app-url") or "",
    }


def build_bootstrap_options(site_id: str, values: dict[str, Any], *, dry_run: bool) -> BootstrapOptions:
    """The form's values through the command's own validation (``UsageError`` naming the flag)."""
    from appliance_cli.bootstrap.options import build_options
    from appliance_cli.releases import load_release

    clean: dict[str, Any] = {}
    for name, _flag, _label in BOOTSTRAP_FIELDS:
        raw = str(values.get(name) or "").strip()
        clean[name] = raw or None
    clean["network_mode"] = clean["network_mode"] or "dhcp"
    clean["dns_servers"] = clean["dns_servers"] or ()
    for name, _flag, _label in BOOTSTRAP_FLAGS:
        clean[name] = bool(values.get(name))
    options = build_options(
        **clean,
        site_id=site_id,
        kubeconfig=None,
        talosconfig=None,
        config_dir=None,
        repo_url=None,
        branch_override=None,
        require_remote_branch=False,
        dry_run=dry_run,
        progress="plain",
    )
    load_release(options.release_version)  # unknown release: bad input before anything else
    return options


def bootstrap_plan_lines(result: BootstrapResult) -> list[str]:
    """The plan as ``appliance bootstrap --dry-run`` prints it."""
    out = [f"⚠ warning: {w}" for w in result.warnings]
    out.append("Plan (dry run: nothing was changed, no file was written):")
    for i, action in enumerate(result.plan, 1):
        phase = f"phase {action.phase}" if action.phase is not None else "preflight"
        out.append(f"{i:3d}. [{phase}] {action.kind:7s} {action.summary}")
    return out


def bootstrap_summary_lines(site_id: str, result: BootstrapResult) -> list[str]:
    """The final summary as ``appliance bootstrap`` prints it."""
    out = [f"⚠ warning: {w}" for w in result.warnings]
    doc = result.status
    if doc is None:
        return [*out, "error: the final status could not be collected (see Status)"]
    out.append(f"Rollup: {doc.rollup.state} — {doc.rollup.message}")
    if doc.urls.login_url:
        out.append(f"Login URL: {doc.urls.login_url}")
    if doc.urls.status_url:
        out.append(f"Status URL: {doc.urls.status_url} (token in the site file status-token)")
    for b in doc.top_blockers[:5]:
        out.append(f"  {b.code} [{b.component}] {b.reason} — next: {b.next_action}")
    out.append(f"Next: {doc.rollup.next_action}")
    out.append(f"Exit state: {result.exit_code}")
    return out


def run_bootstrap(
    options: BootstrapOptions,
    reporter: Reporter,
    announce: Callable[[str], None],
    stop: threading.Event | None = None,
) -> BootstrapResult:
    """``appliance bootstrap`` itself: the same engine, lock, journal and reset hook."""
    from appliance_cli.bootstrap import engine
    from appliance_cli.reset.run import bootstrap_hook

    return engine.run(options, reporter=reporter, announce=announce, reset=bootstrap_hook, stop=stop)


def plan_bootstrap(options: BootstrapOptions) -> BootstrapResult:
    """The dry run: the ordered plan, nothing mutated (not even local files)."""
    announced: list[str] = []
    return run_bootstrap(options, NullReporter(), announced.append)


# Reset -------------------------------------------------------------------------------------
@dataclass
class ResetPlanView:
    cluster: Cluster
    plan: ResetPlan
    lines: list[str] = field(default_factory=list)


def plan_reset(site_id: str) -> ResetPlanView:
    """``appliance reset --dry-run``: the plan read from the live cluster."""
    from appliance_cli.reset import run
    from appliance_cli.reset.render import plan_lines

    cluster = run.open_cluster(site_id, kubeconfig=None, config_dir=None)
    plan = run.plan_for(cluster)
    return ResetPlanView(cluster, plan, plan_lines(plan))


def confirm_reset(site_id: str, typed: str) -> None:
    """The command's confirmation: the site id typed exactly."""
    from appliance_cli.errors import UsageError

    if typed.strip() != site_id:
        raise UsageError(
            f"the typed site id {typed.strip()!r} does not match {site_id!r}; nothing was deleted",
            param="--force",
        )


def run_reset(view: ResetPlanView, reporter: Reporter, stop: threading.Event | None = None) -> list[str]:
    """``appliance reset --force`` after confirmation; the outcome lines it prints."""
    from appliance_cli.reset import run
    from appliance_cli.reset.render import outcome_lines

    outcome = run.execute(view.cluster, view.plan, reporter, stop=stop)
    return outcome_lines(outcome, site_id=view.plan.site_id)


# Support bundle ----------------------------------------------------------------------------
def plan_support_bundle(site_id: str, output: str) -> tuple[Path, list[str]]:
    """What ``appliance support-bundle`` will write, checked like the command checks it."""
    from appliance_cli.errors import UsageError

    out_dir = Path(output.strip() or ".").expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError("not a directory", param="--output")
    return out_dir, [
        f"Support bundle of site {site_id} into {out_dir.resolve()}/alga-support-{site_id}-<time>.tar.gz:",
        "  snapshot.json, status.json, journal.json and versions.json",
        "  no Secret objects, no status token, no kubeconfig or talosconfig; log lines redacted",
        "Nothing on the appliance changes.",
    ]


def run_support_bundle(site_id: str, out_dir: Path) -> list[str]:
    from appliance_cli.status.bundle import write_bundle

    result = write_bundle(site_id, out_dir)
    return [
        "✓ Support bundle written (no secrets inside); read it back with "
        "'appliance status --snapshot <extracted>/snapshot.json'",
        str(result.path),
    ]


def _plan_lines(result: Any) -> list[str]:
    out = [f"⚠ warning: {w}" for w in getattr(result, "warnings", [])]
    out.append("Plan (dry run: nothing was changed, no file was written):")
    for i, action in enumerate(getattr(result, "plan", []), 1):
        phase = f"step {action.phase}" if action.phase is not None else "preflight"
        out.append(f"{i:3d}. [{phase}] {action.kind:7s} {action.summary}")
    return out


# Upgrade -----------------------------------------------------------------------------------
def _upgrade_render() -> Any | None:
    return _module(UPGRADE_RENDER, "plan_lines", "summary_lines")


def plan_upgrade(site_id: str, release_version: str, channel: str) -> tuple[Any, list[str]]:
    """``appliance upgrade --dry-run``: exactly one of a release version and a channel, then the plan."""
    from appliance_cli.errors import UsageError

    engine = upgrade_engine()
    if engine is None:
        raise UsageError(f"upgrade is {NOT_AVAILABLE}")
    version, chan = release_version.strip(), channel.strip()
    if bool(version) == bool(chan):
        raise UsageError(
            "name the target with exactly one of --release-version and --channel", param="--release-version"
        )
    options = engine.UpgradeOptions(
        release_version=version or str(engine.resolve_channel(chan)), site_id=site_id, dry_run=True
    )
    result = engine.run(options, reporter=NullReporter(), announce=lambda _line: None)
    render = _upgrade_render()
    lines = [f"⚠ warning: {w}" for w in result.warnings]
    lines += list(render.plan_lines(result)) if render else _plan_lines(result)[len(result.warnings) :]
    return options, lines


def _upgrade_summary(result: Any) -> list[str]:
    render = _upgrade_render()
    if render is not None:
        out = list(render.summary_lines(result))
    else:
        out = [
            f"Upgrade {result.from_version} -> {result.to_version}: {result.state}. {result.message}".rstrip()
        ]
    return [*out, f"Exit state: {result.exit_code}"]


def run_upgrade(options: Any, write: Callable[[str], None], stop: threading.Event | None) -> list[str]:
    """``appliance upgrade`` itself (it asks no confirmation; neither does the console)."""
    from appliance_cli.errors import ApplianceError
    from appliance_cli.tui.reporter import LineReporter

    engine = upgrade_engine()
    assert engine is not None
    reporter = LineReporter(write, label="step", total=int(getattr(engine, "TOTAL_STEPS", 0)))
    try:
        result = engine.run(
            options.model_copy(update={"dry_run": False}), reporter=reporter, announce=write, stop=stop
        )
    except ApplianceError as exc:
        rolled_back = getattr(exc, "result", None)  # the engine's RolledBack carries the result
        if rolled_back is not None:
            for line in _upgrade_summary(rolled_back)[:-1]:
                write(line)
        raise
    return _upgrade_summary(result)


# Repair ------------------------------------------------------------------------------------
@dataclass
class RepairPlanView:
    session: Any
    codes: list[str]
    lines: list[str]


def plan_repair(site_id: str, codes_text: str) -> RepairPlanView:
    """``appliance repair --dry-run [--code ...]``: the codes checked as the command checks them."""
    from appliance_cli.repair import run
    from appliance_cli.repair.render import plan_lines

    codes = run.check_codes([c for c in codes_text.replace(" ", ",").split(",") if c])
    session = run.open_session(site_id, kubeconfig=None)
    report = run.run(session, codes=codes, dry_run=True, confirm=lambda _plans: True, reporter=NullReporter())
    lines = plan_lines(report.plans) or ["Nothing to repair now."]
    return RepairPlanView(session, codes, [*lines, "", "Dry run: nothing was changed."])


def run_repair(view: RepairPlanView, write: Callable[[str], None]) -> list[str]:
    """``appliance repair --yes`` after the console asked, as the command asks on a terminal."""
    from appliance_cli.repair import run
    from appliance_cli.repair.render import report_lines
    from appliance_cli.tui.reporter import LineReporter

    report = run.run(
        view.session,
        codes=view.codes,
        dry_run=False,
        confirm=lambda _plans: True,
        reporter=LineReporter(write, label="repair", total=0),
    )
    return [*report_lines(report), f"Exit state: {0 if report.ok else 1}"]
