"""Read-side helpers over the kube adapter's plain JSON (readiness checks bootstrap waits on)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance_cli.bootstrap.waits import Seen
from appliance_cli.errors import ApplianceError, KubeNotFound

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


def condition(obj: Obj, ctype: str) -> Obj | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return dict(c)
    return None


def node_ready(ctx: BootstrapContext) -> Seen:
    nodes = ctx.kube().list_raw("v1/nodes").get("items") or []
    if not nodes:
        return Seen(False, "no node registered yet")
    for node in nodes:
        c = condition(node, "Ready")
        if c and c.get("status") == "True":
            return Seen(True, f"node {node['metadata']['name']} Ready")
    c = condition(nodes[0], "Ready") or {}
    name = nodes[0]["metadata"]["name"]
    return Seen(False, f"node {name} Ready={c.get('status', 'Unknown')} {c.get('message', '')}".strip())


def deployment_ready(obj: Obj | None) -> Seen:
    if obj is None:
        return Seen(False, "not created yet")
    spec_replicas = (obj.get("spec") or {}).get("replicas", 1)
    st = obj.get("status") or {}
    gen_ok = st.get("observedGeneration", 0) >= (obj.get("metadata") or {}).get("generation", 0)
    ready = st.get("readyReplicas", 0) or 0
    updated = st.get("updatedReplicas", ready) or 0
    done = gen_ok and ready >= spec_replicas and updated >= spec_replicas
    return Seen(done, f"{obj['metadata']['name']} {ready}/{spec_replicas} ready")


def deployments_ready(ctx: BootstrapContext, namespace: str, names: list[str]) -> Seen:
    seen: list[str] = []
    all_ok = True
    for name in names:
        s = deployment_ready(get_or_none(ctx, "apps/v1/deployments", namespace, name))
        all_ok = all_ok and s.done
        seen.append(s.last_seen if s.last_seen.startswith(name) else f"{name} {s.last_seen}")
    return Seen(all_ok, ", ".join(seen))


def flux_ready(obj: Obj | None) -> Seen:
    """A Flux object (Kustomization, GitRepository) is Ready=True for its current generation."""
    if obj is None:
        return Seen(False, "not created yet")
    name = obj["metadata"]["name"]
    c = condition(obj, "Ready")
    if c is None:
        return Seen(False, f"{name}: no Ready condition yet")
    gen = (obj.get("metadata") or {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    current = gen is None or observed is None or observed >= gen
    ok = c.get("status") == "True" and current
    return Seen(ok, f"{name}: Ready={c.get('status')} {c.get('reason', '')}: {c.get('message', '')}"[:200])


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
