"""Whether ``appliance repair`` can fix a blocker now, and the exact command (pure, no I/O).

The repair a code declares is data next to its rule (``RepairSpec``). Whether it applies to
one blocker depends on the rest of the picture: a symptom (``after_cause``) is repaired only
once no specific cause of the same component is listed, and a durable-fix repair only when
the applied HelmRelease lacks the fix. The status document, the status page and
``appliance repair`` all ask this module, so they never disagree.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any, Literal

import yaml

from appliance_cli.status.model import BlockerRepair
from appliance_cli.status.rules.registry import repair_for

Fix = Literal["temporal-autosetup", "service-links", "db-subpath"]

# The durable fix of the Flux layout that prevents each code (docs/flux-layout.md).
FIX_FOR_CODE: dict[str, Fix] = {
    "temporal_schema_uninitialized": "temporal-autosetup",
    "service_link_collision": "service-links",
    "storage_pvc_subpath_failed": "db-subpath",
}


def repair_command(code: str, site_id: str | None) -> str:
    """The exact command that repairs blockers of ``code`` on ``site_id``."""
    argv = ["appliance", "repair"]
    if site_id:
        argv += ["--site-id", site_id]
    argv += ["--code", code]
    return shlex.join(argv)


def _patches(hr: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], Any]]:
    out: list[tuple[Mapping[str, Any], Any]] = []
    for renderer in (hr.get("spec") or {}).get("postRenderers") or []:
        for patch in (renderer.get("kustomize") or {}).get("patches") or []:
            try:
                body = yaml.safe_load(str(patch.get("patch") or ""))
            except yaml.YAMLError:
                body = None
            out.append((patch.get("target") or {}, body))
    return out


def _pod_specs(hr: Mapping[str, Any], kind: str, name: str) -> list[Mapping[str, Any]]:
    specs: list[Mapping[str, Any]] = []
    for target, body in _patches(hr):
        if target.get("kind") == kind and target.get("name") == name and isinstance(body, dict):
            specs.append(((body.get("spec") or {}).get("template") or {}).get("spec") or {})
    return specs


def fix_applied(hr: Mapping[str, Any], fix: Fix, workload: str | None = None) -> bool:
    """Whether the HelmRelease ``hr`` carries the layout's durable ``fix`` as a postRenderer.

    ``workload``: for ``service-links``, the Deployment that must not get Service links.
    """
    if fix == "temporal-autosetup":
        return any(
            c.get("name") == "temporal"
            and c.get("command") == ["/etc/temporal/entrypoint.sh"]
            and c.get("args") == ["autosetup"]
            for s in _pod_specs(hr, "Deployment", "temporal")
            for c in s.get("containers") or []
        )
    if fix == "service-links":
        names = [workload] if workload else ["temporal", "temporal-ui"]
        return all(
            any(s.get("enableServiceLinks") is False for s in _pod_specs(hr, "Deployment", n)) for n in names
        )
    mounts = [
        m
        for s in _pod_specs(hr, "StatefulSet", "db")
        for c in s.get("containers") or []
        if c.get("name") == "db"
        for m in c.get("volumeMounts") or []
        if m.get("name") == "db-data"
    ]
    return any("subPath" in m and m["subPath"] is None for m in mounts)


def repair_hint(
    code: str,
    *,
    site_id: str | None,
    caused: bool = False,
    fix_in_place: bool | None = None,
) -> BlockerRepair:
    """What the status document says about repairing one blocker.

    ``caused``: a specific cause of the same component is listed (a symptom waits for it).
    ``fix_in_place``: for durable-fix repairs, whether the applied HelmRelease has the fix
    (``None``: unknown, e.g. the HelmRelease is not in the snapshot).
    """
    spec = repair_for(code)
    if spec.action is None:
        return BlockerRepair(available=False, summary=spec.summary)
    command = repair_command(code, site_id)
    if not spec.mutates:
        return BlockerRepair(available=False, action=spec.action, command=command, summary=spec.summary)
    if spec.after_cause and caused:
        return BlockerRepair(
            available=False,
            action=spec.action,
            summary="Repair the specific cause listed above first; this follows from it. " + spec.summary,
        )
    if code in FIX_FOR_CODE and fix_in_place:
        return BlockerRepair(
            available=False,
            action=spec.action,
            summary="The layout's durable fix is already applied, so the cause is elsewhere: "
            "nothing for repair to change. Follow the remediation.",
        )
    return BlockerRepair(available=True, action=spec.action, command=command, summary=spec.summary)
