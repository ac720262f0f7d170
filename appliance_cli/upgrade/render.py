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


def release_history_lines(entries: list[dict[str, Any]], current: str | None) -> list[str]:
    """What ``appliance status`` adds below the status: release now, before, last upgrade and backup."""
    if not entries:
        return []
    upgrades = [e for e in entries if e.get("kind") in ("upgrade", "rollback")]
    previous = next(
        (e.get("fromVersion") for e in upgrades if e.get("result") == "succeeded" and e.get("fromVersion")),
        None,
    )
    out = [f"Release: {current or '?'}" + (f" (previous: {previous})" if previous else "")]
    last = next((e for e in entries if e.get("kind") == "upgrade"), None)
    if last is not None:
        out.append(
            f"Last upgrade: {last.get('fromVersion')} → {last.get('toVersion')} {last.get('result')} "
            f"at {last.get('at')}" + (f" ({last.get('message')})" if last.get("message") else "")
        )
    rollback = next((e for e in entries if e.get("kind") == "rollback"), None)
    if rollback is not None and last is not None and rollback.get("at", "") >= last.get("at", ""):
        out.append(f"Rolled back to {rollback.get('toVersion')} at {rollback.get('at')}")
    backup = next((e for e in entries if e.get("kind") == "backup"), None)
    if backup is not None:
        out.append(f"Last backup: {backup.get('backupId')} at {backup.get('at')} (appliance backup list)")
    return out
