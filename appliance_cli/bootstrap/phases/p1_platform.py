"""Phase 1 — Platform: CoreDNS upstreams, DNS and HTTPS smoke tests, local-path storage and
its smoke test (PVC + subPath), Flux controllers."""

from __future__ import annotations

import contextlib
import secrets
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from appliance_cli import yamltext
from appliance_cli.adapters import flux as flux_cmd
from appliance_cli.bootstrap import corefile
from appliance_cli.bootstrap.kubeops import (
    can_read_cluster,
    deployment_ready,
    deployments_ready,
    get_or_none,
    pod_log_tail,
    pod_phase,
    pod_waiting_reason,
)
from appliance_cli.bootstrap.phases.base import BlockerFound, PhaseBase
from appliance_cli.bootstrap.waits import Seen, wait_until
from appliance_cli.errors import ApplianceError, KubeNotFound, PhaseError
from appliance_cli.status.model import Blocker

if TYPE_CHECKING:
    from appliance_cli.bootstrap.context import BootstrapContext

Obj = dict[str, Any]
SMOKE_NS = "appliance-system"
SMOKE_LABEL = "appliance.alga-psa.io/smoke"
SMOKE_PVC = "appliance-storage-smoke"
FLUX_NS = "flux-system"
FLUX_CONTROLLERS = ["source-controller", "kustomize-controller", "helm-controller"]
SMOKE_BOUND = 180.0
COREDNS_BOUND = 180.0
FLUX_BOUND = 300.0
STORAGE_BOUND = 180.0
BUSYBOX = "busybox:1.36"
CURL = "curlimages/curl:8.10.1"
DNS_FAILURE_HINTS = (
    "can't find",
    "no servers could be reached",
    "connection timed out",
    "REFUSED",
    "SERVFAIL",
)


def local_path_manifests() -> list[Obj]:
    text = resources.files("appliance_cli.bootstrap").joinpath("data/local-path-storage.yaml").read_text()
    return [d for d in yamltext.safe_load_all(text) if isinstance(d, dict)]


def _hosts(ctx: BootstrapContext) -> list[str]:
    registry = ctx.release.image("alga-core").registry
    git = urlsplit(ctx.release.app.repo_url).hostname or "github.com"
    return list(dict.fromkeys([registry, git]))


def _pod(name: str, kind: str, container: Obj, volumes: list[Obj] | None = None) -> Obj:
    spec: Obj = {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 1,
        "containers": [container],
        "tolerations": [{"operator": "Exists"}],
    }
    if volumes:
        spec["volumes"] = volumes
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": SMOKE_NS,
            "labels": {SMOKE_LABEL: kind, "app.kubernetes.io/part-of": "alga-appliance"},
        },
        "spec": spec,
    }


def dns_smoke_pod(name: str, hosts: list[str]) -> Obj:
    script = " && ".join(f"nslookup {h}" for h in hosts)
    return _pod(name, "dns", {"name": "dns", "image": BUSYBOX, "command": ["sh", "-c", script]})


def https_smoke_pod(name: str, hosts: list[str]) -> Obj:
    script = " && ".join(
        f"curl -sS -o /dev/null -w '%{{http_code}} {h}\\n' --max-time 20 https://{h}/" for h in hosts
    )
    return _pod(name, "https", {"name": "https", "image": CURL, "command": ["sh", "-c", script]})


def storage_smoke_pvc() -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": SMOKE_PVC, "namespace": SMOKE_NS, "labels": {SMOKE_LABEL: "storage"}},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "local-path",
            "resources": {"requests": {"storage": "16Mi"}},
        },
    }


def storage_smoke_pod(name: str) -> Obj:
    container = {
        "name": "storage",
        "image": BUSYBOX,
        "command": ["sh", "-c", "echo ok > /data/smoke-test && cat /data/smoke-test"],
        "volumeMounts": [{"name": "data", "mountPath": "/data", "subPath": "pgdata"}],
    }
    return _pod(
        name, "storage", container, [{"name": "data", "persistentVolumeClaim": {"claimName": SMOKE_PVC}}]
    )


def _smoke_blocker(kind: str, name: str, reason: str, lines: list[str]) -> Blocker:
    text = "\n".join(lines) + "\n" + reason
    if kind == "storage":
        code = "storage_pvc_subpath_failed" if "subPath" in text or "subpath" in text else "pvc_pending"
        action = "Check the node's local-path storage (/var/local-path-provisioner) and its permissions."
        component, layer, tier = "local-path-storage", "storage", "platform"
    elif kind == "dns" or any(h in text for h in DNS_FAILURE_HINTS):
        code, layer = "dns_resolution_failed", "dns"
        action = "Point --dns-servers at resolvers that answer (or fix the network's DNS), then recover."
        component, tier = "coredns", "platform"
    else:
        code, layer = "dns_resolution_failed", "network"
        action = "Allow outbound HTTPS (443) from the node to the registry and Git hosts."
        component, tier = "network", "platform"
    evidence = [
        {"kind": "Pod", "namespace": SMOKE_NS, "name": name, "message": m} for m in (lines[-3:] or [reason])
    ]
    return Blocker.model_validate(
        {
            "code": code,
            "severity": "critical",
            "tier": tier,
            "component": component,
            "layer": layer,
            "reason": f"{kind} smoke test failed: {reason or (lines[-1] if lines else 'pod failed')}",
            "nextAction": action,
            "loginBlocking": True,
            "evidence": evidence,
        }
    )


def preflight_flux(ctx: BootstrapContext) -> None:
    """``flux`` presence and version, checked before anything is mutated (memoised).

    Not needed when phase 1 is already done or the controllers already run; in dry run a
    missing CLI is a warning (the plan still shows the install).
    """
    if ctx.state.flux_checked or ctx.journal.completed(1):
        return
    try:
        if can_read_cluster(ctx) and deployments_ready(ctx, FLUX_NS, FLUX_CONTROLLERS).done:
            ctx.state.flux_checked = True
            return
    except ApplianceError:
        pass
    try:
        version = ctx.flux().check_cli()
    except ApplianceError as exc:
        if not ctx.options.dry_run:
            raise
        ctx.warn(f"flux CLI: {exc.message}")
        version = None
    ctx.state.flux_checked, ctx.state.flux_version = True, version
    if version:
        ctx.report(f"flux CLI {version}", "info")


class Platform(PhaseBase):
    number = 1
    title = "Platform"

    def should_run(self, ctx: BootstrapContext) -> bool:
        if not ctx.journal.completed(self.number) or not can_read_cluster(ctx):
            return True
        try:
            sc = get_or_none(ctx, "storage.k8s.io/v1/storageclasses", None, "local-path")
            return sc is None or not deployments_ready(ctx, FLUX_NS, FLUX_CONTROLLERS).done
        except ApplianceError:
            return True

    def run(self, ctx: BootstrapContext) -> None:
        run_id = secrets.token_hex(3)
        ctx.state.smoke_pods = self._leftovers(ctx)  # from a run that was killed: removed below
        self.cleanup(ctx)
        if ctx.options.dns_servers:
            self._coredns(ctx)
        self._namespace(ctx)
        hosts = _hosts(ctx)
        self._smoke(
            ctx, "dns", dns_smoke_pod(f"appliance-smoke-dns-{run_id}", hosts), f"DNS for {', '.join(hosts)}"
        )
        self._smoke(ctx, "https", https_smoke_pod(f"appliance-smoke-https-{run_id}", hosts), "outbound HTTPS")
        self._storage(ctx, run_id)
        self._flux(ctx)
        self.cleanup(ctx)

    def _namespace(self, ctx: BootstrapContext) -> None:
        ns = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": SMOKE_NS, "labels": {"app.kubernetes.io/part-of": "alga-appliance"}},
        }
        ctx.actions.apply(ctx.kube, ns)

    def _coredns(self, ctx: BootstrapContext) -> None:
        a = ctx.actions
        servers = list(ctx.options.dns_servers)
        with ctx.step(f"CoreDNS upstreams {' '.join(servers)}"):
            cm = (
                get_or_none(ctx, "v1/configmaps", "kube-system", "coredns") if can_read_cluster(ctx) else None
            )
            if cm is None and not a.dry_run:
                raise PhaseError(self.title, "ConfigMap kube-system/coredns not found")
            current = ((cm or {}).get("data") or {}).get(
                "Corefile", ".:53 {\n    forward . /etc/resolv.conf\n}\n"
            )
            updated = corefile.set_upstreams(current, servers)
            if updated == current and cm is not None:
                ctx.report("CoreDNS already forwards to these servers", "info")
                return
            a.apply(
                ctx.kube,
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "coredns", "namespace": "kube-system"},
                    "data": {"Corefile": updated},
                },
            )
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            patch = {
                "spec": {
                    "template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}
                }
            }
            a.do(
                "restart Deployment kube-system/coredns",
                lambda: ctx.kube().patch_merge("apps/v1/deployments", "kube-system", "coredns", patch),
                default=None,
            )
            a.wait(
                "CoreDNS rollout",
                COREDNS_BOUND,
                lambda: wait_until(
                    ctx,
                    "CoreDNS ready",
                    lambda: deployment_ready(
                        get_or_none(ctx, "apps/v1/deployments", "kube-system", "coredns")
                    ),
                    bound_seconds=COREDNS_BOUND,
                    classify=False,
                    stop=ctx.state.stop,
                ),
                default=None,
            )

    def _smoke(self, ctx: BootstrapContext, kind: str, pod: Obj, what: str) -> None:
        a = ctx.actions
        name = pod["metadata"]["name"]
        with ctx.step(f"{kind} smoke test ({what})"):
            a.apply(ctx.kube, pod)
            ctx.state.smoke_pods.append(name)
            a.wait(
                f"smoke pod {name} to succeed",
                SMOKE_BOUND,
                lambda: self._await_pod(ctx, kind, name),
                default=None,
            )

    def _await_pod(self, ctx: BootstrapContext, kind: str, name: str) -> Seen:
        def check() -> Seen:
            phase, pod = pod_phase(ctx, SMOKE_NS, name)
            if phase == "Failed":
                lines = pod_log_tail(ctx, SMOKE_NS, name)
                raise BlockerFound(_smoke_blocker(kind, name, "", lines), waiting_for=f"{kind} smoke test")
            if pod is not None and phase == "Pending":
                reason = pod_waiting_reason(pod)
                if "subPath" in reason or "CreateContainerConfigError" in reason:
                    raise BlockerFound(
                        _smoke_blocker(kind, name, reason, []), waiting_for=f"{kind} smoke test"
                    )
                return Seen(False, f"pod {name} Pending {reason}".strip())
            return Seen(phase == "Succeeded", f"pod {name} {phase}")

        codes = {
            "dns_resolution_failed",
            "storage_pvc_subpath_failed",
            "pvc_pending",
            "unschedulable",
            "node_not_ready",
        }
        return wait_until(
            ctx,
            f"{kind} smoke test",
            check,
            bound_seconds=SMOKE_BOUND,
            blocker_codes=codes,
            stop=ctx.state.stop,
        )

    def _storage(self, ctx: BootstrapContext, run_id: str) -> None:
        a = ctx.actions
        with ctx.step("local-path storage"):
            for obj in local_path_manifests():
                a.apply(ctx.kube, obj)
            a.wait(
                "the local-path provisioner",
                STORAGE_BOUND,
                lambda: wait_until(
                    ctx,
                    "local-path provisioner ready",
                    lambda: deployments_ready(ctx, "local-path-storage", ["local-path-provisioner"]),
                    bound_seconds=STORAGE_BOUND,
                    classify=False,
                    stop=ctx.state.stop,
                ),
                default=None,
            )
        a.apply(ctx.kube, storage_smoke_pvc())
        ctx.state.smoke_pvc = True
        self._smoke(
            ctx, "storage", storage_smoke_pod(f"appliance-smoke-storage-{run_id}"), "PVC with a subPath"
        )

    def _flux(self, ctx: BootstrapContext) -> None:
        a = ctx.actions
        with ctx.step("Flux controllers"):
            if can_read_cluster(ctx) and deployments_ready(ctx, FLUX_NS, FLUX_CONTROLLERS).done:
                ctx.report("Flux controllers already Ready: not reinstalled", "info")
                a.note("Flux controllers already Ready: skip install")
                return
            flux = ctx.flux()
            preflight_flux(ctx)
            objects: list[dict[str, Any]] = a.command(
                flux_cmd.argv_install_export(None), lambda: flux.install_manifests(None), default=[]
            )
            if a.dry_run and not objects:
                a.note("apply every object of 'flux install --export' (CRDs, flux-system controllers)")
            for obj in objects:
                a.apply(ctx.kube, obj)
            a.wait(
                "the Flux controllers",
                FLUX_BOUND,
                lambda: wait_until(
                    ctx,
                    "Flux controllers ready",
                    lambda: deployments_ready(ctx, FLUX_NS, FLUX_CONTROLLERS),
                    bound_seconds=FLUX_BOUND,
                    classify=False,
                    stop=ctx.state.stop,
                ),
                default=None,
            )

    def _leftovers(self, ctx: BootstrapContext) -> list[str]:
        if not can_read_cluster(ctx):
            return []
        try:
            pods = ctx.kube().list_raw("v1/pods", SMOKE_NS, label_selector=SMOKE_LABEL).get("items") or []
        except ApplianceError:
            return []
        return [str(p["metadata"]["name"]) for p in pods]

    def cleanup(self, ctx: BootstrapContext) -> None:
        a = ctx.actions
        kube = ctx.kube

        def gone(key: str, name: str) -> None:
            with contextlib.suppress(KubeNotFound):
                kube().delete(key, SMOKE_NS, name)

        for name in ctx.state.smoke_pods:
            a.delete(f"Pod {SMOKE_NS}/{name}", lambda n=name: gone("v1/pods", n))  # type: ignore[misc]
        ctx.state.smoke_pods = []
        if ctx.state.smoke_pvc:
            ctx.state.smoke_pvc = False
            volume = self._smoke_volume(ctx)
            a.delete(
                f"PersistentVolumeClaim {SMOKE_NS}/{SMOKE_PVC}",
                lambda: gone("v1/persistentvolumeclaims", SMOKE_PVC),
            )
            if volume:  # the StorageClass retains volumes: the smoke test's own goes explicitly
                a.delete(
                    f"PersistentVolume {volume}",
                    lambda: kube().delete("v1/persistentvolumes", None, volume),
                )

    def _smoke_volume(self, ctx: BootstrapContext) -> str | None:
        if ctx.actions.dry_run or not can_read_cluster(ctx):
            return None
        try:
            pvc = ctx.kube().get("v1/persistentvolumeclaims", SMOKE_NS, SMOKE_PVC)
        except ApplianceError:
            return None
        name = (pvc.get("spec") or {}).get("volumeName")
        return str(name) if name else None
