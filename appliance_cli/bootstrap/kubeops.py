"""Read-side helpers over the kube adapter's plain JSON (readiness checks bootstrap waits on)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from appliance_cli.bootstrap.waits import Seen
from appliance_cli.errors import ApplianceError, KubeNotFound
from appliance_cli.status.index import FluxObject, Workload
from appliance_cli.status.readiness import deployment_readiness, flux_readiness, node_readiness

if TYPE_CHECKING:
    from appliance_cli.bootstrap.context import BootstrapContext

Obj = dict[str, Any]


def get_or_none(ctx: BootstrapContext, key: str, namespace: str | None, name: str) -> Obj | None:
    try:
        return ctx.kube().get(key, namespace, name)
    except KubeNotFound:
        return None


def can_read_cluster(ctx: BootstrapContext) -> bool:
    """In dry run, reads are made only when a kubeconfig already exists."""
    return ctx.kubeconfig_path.is_file()


def node_ready(ctx: BootstrapContext) -> Seen:
    nodes = ctx.kube().list_raw("v1/nodes").get("items") or []
    if not nodes:
        return Seen(False, "no node registered yet")
    for node in nodes:
        if node_readiness(node).ready:
            return Seen(True, f"node {node['metadata']['name']} Ready")
    r = node_readiness(nodes[0])
    return Seen(False, f"node {nodes[0]['metadata']['name']} not Ready: {r.reason} {r.message}".strip())


def deployment_ready(obj: Obj | None) -> Seen:
    """The same readiness as ``appliance status`` (``status.readiness``), as a wait observation."""
    if obj is None:
        return Seen(False, "not created yet")
    r = deployment_readiness(cast(Workload, obj))
    return Seen(r.ready, f"{obj['metadata']['name']} {r.message}".strip())


def deployments_ready(ctx: BootstrapContext, namespace: str, names: list[str]) -> Seen:
    seen: list[str] = []
    all_ok = True
    for name in names:
        s = deployment_ready(get_or_none(ctx, "apps/v1/deployments", namespace, name))
        all_ok = all_ok and s.done
        seen.append(s.last_seen if s.last_seen.startswith(name) else f"{name} {s.last_seen}")
    return Seen(all_ok, ", ".join(seen))


def flux_ready(obj: Obj | None) -> Seen:
    """A Flux object is Ready for its current generation, not suspended, not stalled
    (``status.readiness.flux_readiness``, the rule ``appliance status`` uses)."""
    if obj is None:
        return Seen(False, "not created yet")
    r = flux_readiness(cast(FluxObject, obj))
    name = obj["metadata"]["name"]
    return Seen(r.ready, f"{name}: {r.state} {r.reason}: {r.message}"[:200])


def pod_phase(ctx: BootstrapContext, namespace: str, name: str) -> tuple[str, Obj | None]:
    pod = get_or_none(ctx, "v1/pods", namespace, name)
    if pod is None:
        return "Missing", None
    return str((pod.get("status") or {}).get("phase") or "Pending"), pod


def pod_waiting_reason(pod: Obj) -> str:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting:
            return f"{waiting.get('reason', '')}: {waiting.get('message', '')}".strip(": ")
    return ""


def pod_log_tail(ctx: BootstrapContext, namespace: str, name: str, lines: int = 20) -> list[str]:
    fn = getattr(ctx.kube(), "pod_logs", None)
    if fn is None:
        return []
    try:
        out = fn(namespace, name, None, lines)
    except (ApplianceError, TypeError):
        return []
    text = out if isinstance(out, str) else "\n".join(out)
    return [line for line in text.splitlines() if line.strip()][-lines:]
