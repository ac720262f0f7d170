"""Text of the day-2 commands' results (the CLI prints these lines through ``console``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appliance_cli.upgrade.engine import UpgradeResult
    from appliance_cli.upgrade.model import BackupRecord

STEP_NAMES = {0: "preflight", 1: "backup", 2: "core", 3: "background", 4: "verify"}


def plan_lines(result: UpgradeResult) -> list[str]:
    out = [
        f"Upgrade plan {result.from_version} → {result.to_version} "
        "(dry run: nothing was changed, no file was written):"
    ]
    for i, action in enumerate(result.plan, 1):
        step = STEP_NAMES.get(action.phase, "preflight") if action.phase is not None else "preflight"
        out.append(f"{i:3d}. [{step}] {action.kind:7s} {action.summary}")
    return out


def summary_lines(result: UpgradeResult) -> list[str]:
    out = [f"Upgrade {result.from_version} → {result.to_version}: {result.state} — {result.message}"]
    if result.backup is not None:
        out.append(backup_line(result.backup))
    if result.timings:
        out.append("Time per step: " + ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items()))
    doc = result.status
    if doc is not None:
        out.append(f"Rollup: {doc.rollup.state} — {doc.rollup.message}")
        if doc.urls.login_url:
            out.append(f"Login URL: {doc.urls.login_url}")
        out.append(f"Next: {doc.rollup.next_action}")
    out.append(f"Objects applied: {result.applied}")
    return out


def backup_line(record: BackupRecord) -> str:
    return (
        f"Backup {record.id}: {record.file}, {record.size_bytes} bytes, sha256 {record.sha256}, "
        f"release {record.release_version or '?'}, {record.seconds:g}s ({record.reason})"
    )


def backup_table(records: list[BackupRecord]) -> list[str]:
    if not records:
        return ["No backups yet (appliance backup takes one; every upgrade takes one first)."]
    out = [f"{'ID':17} {'RELEASE':14} {'SIZE':>12} {'CREATED':21} REASON"]
    for r in records:
        out.append(f"{r.id:17} {r.release_version or '?':14} {r.size_bytes:>12} {r.created_at:21} {r.reason}")
    return out


def backup_json(record: BackupRecord) -> dict[str, Any]:
    return record.model_dump(by_alias=True, exclude={"config"})
