"""The appliance's workloads as the builders know them: names, containers, images, charts.

Pod and ReplicaSet names are derived deterministically (``rs_hash``, ``pod_suffix``) with
the alphabet Kubernetes uses for generated names.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ids import hexdigest


@dataclass(frozen=True)
class Comp:
    name: str
    namespace: str
    kind: str  # Deployment | StatefulSet
    workload: str
    container: str
    image: str
    port: int
    helm_release: str | None
    chart: str | None
    memory: str = "256Mi"

    @property
    def repository(self) -> str:
        return self.image.rsplit(":", 1)[0]


COMPS: dict[str, Comp] = {
    c.name: c
    for c in (
        Comp(
            "appliance-status",
            "appliance-system",
            "Deployment",
            "appliance-status",
            "status",
            "ghcr.io/nine-minds/alga-appliance-status:0.1.0",
            8080,
            None,
            None,
            "128Mi",
        ),
        Comp(
            "db",
            "msp",
            "StatefulSet",
            "db",
            "postgres",
            "docker.io/library/postgres:16.4",
            5432,
            "alga-core",
            "sebastian",
            "1Gi",
        ),
        Comp(
            "redis",
            "msp",
            "StatefulSet",
            "redis",
            "redis",
            "docker.io/library/redis:7.2.5",
            6379,
            "alga-core",
            "sebastian",
            "256Mi",
        ),
        Comp(
            "pgbouncer",
            "msp",
            "Deployment",
            "pgbouncer",
            "pgbouncer",
            "docker.io/bitnami/pgbouncer:1.23.1",
            6432,
            "pgbouncer",
            "pgbouncer",
            "128Mi",
        ),
        Comp(
            "alga-core",
            "msp",
            "Deployment",
            "alga-core-sebastian",
            "web",
            "ghcr.io/nine-minds/alga-psa-ee:a2cbb430",
            3000,
            "alga-core",
            "sebastian",
            "2Gi",
        ),
        Comp(
            "temporal",
            "msp",
            "Deployment",
            "temporal",
            "temporal",
            "docker.io/temporalio/auto-setup:1.24.2",
            7233,
            "temporal",
            "temporal",
            "1Gi",
        ),
        Comp(
            "temporal-ui",
            "msp",
            "Deployment",
            "temporal-ui",
            "temporal-ui",
            "docker.io/temporalio/ui:2.26.2",
            8080,
            "temporal",
            "temporal",
            "256Mi",
        ),
        Comp(
            "email-service",
            "msp",
            "Deployment",
            "email-service",
            "email-service",
            "ghcr.io/nine-minds/email-service:61e4a00e",
            4000,
            "email-service",
            "email-service",
            "512Mi",
        ),
        Comp(
            "workflow-worker",
            "msp",
            "Deployment",
            "workflow-worker",
            "workflow-worker",
            "ghcr.io/nine-minds/workflow-worker:61e4a00e",
            4001,
            "workflow-worker",
            "workflow-worker",
            "1Gi",
        ),
        Comp(
            "temporal-worker",
            "msp",
            "Deployment",
            "temporal-worker",
            "temporal-worker",
            "ghcr.io/nine-minds/temporal-worker:61e4a00e",
            4002,
            "temporal-worker",
            "temporal-worker",
            "1Gi",
        ),
    )
}
BOOTSTRAP_JOB = "alga-core-sebastian-bootstrap-1"
HELM_RELEASES = {
    # name: (tier Kustomization, chart name, chart path)
    "alga-core": ("alga-core", "sebastian", "./helm"),
    "pgbouncer": ("alga-core", "pgbouncer", "./helm/charts/pgbouncer"),
    "temporal": ("alga-background", "temporal", "./helm/charts/temporal"),
    "email-service": ("alga-background", "email-service", "./helm/charts/email-service"),
    "workflow-worker": ("alga-background", "workflow-worker", "./helm/charts/workflow-worker"),
    "temporal-worker": ("alga-background", "temporal-worker", "./helm/charts/temporal-worker"),
}
KUSTOMIZATION_DEPENDS: dict[str, list[str]] = {
    "alga-platform": [],
    "alga-core": ["alga-platform"],
    "alga-background": ["alga-core"],
}
CORE_COMPS = ("db", "redis", "pgbouncer", "alga-core")
BACKGROUND_COMPS = ("temporal", "temporal-ui", "email-service", "workflow-worker", "temporal-worker")


def rs_hash(comp: Comp, incarnation: str = "") -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    h = int(hexdigest("rs", comp.name, incarnation, n=12), 16)
    out = ""
    for _ in range(10):
        h, r = divmod(h, len(alphabet))
        out += alphabet[r]
    return out


def pod_suffix(comp: Comp, incarnation: str = "") -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    h = int(hexdigest("pod", comp.name, incarnation, n=10), 16)
    out = ""
    for _ in range(5):
        h, r = divmod(h, len(alphabet))
        out += alphabet[r]
    return out


def pod_name(comp: Comp, incarnation: str = "") -> str:
    if comp.kind == "StatefulSet":
        return f"{comp.workload}-0"
    return f"{comp.workload}-{rs_hash(comp)}-{pod_suffix(comp, incarnation)}"


def labels_for(comp: Comp) -> dict[str, str]:
    lab = {
        "app.kubernetes.io/name": comp.name,
        "app.kubernetes.io/instance": comp.helm_release or comp.name,
        "app.kubernetes.io/part-of": "alga-appliance" if comp.helm_release is None else "alga-psa",
    }
    if comp.helm_release:
        lab["app.kubernetes.io/managed-by"] = "Helm"
        lab["helm.sh/chart"] = f"{comp.chart}-0.1.0"
    return lab


FLUX_COMPS: dict[str, Comp] = {
    name: Comp(
        name,
        "flux-system",
        "Deployment",
        name,
        "manager",
        f"ghcr.io/fluxcd/{name}:{tag}",
        8080,
        None,
        None,
        mem,
    )
    for name, tag, mem in (
        ("source-controller", "v1.4.1", "1Gi"),
        ("kustomize-controller", "v1.4.0", "1Gi"),
        ("helm-controller", "v1.1.0", "1Gi"),
        ("notification-controller", "v1.4.0", "1Gi"),
    )
}
COREDNS = Comp(
    "coredns",
    "kube-system",
    "Deployment",
    "coredns",
    "coredns",
    "registry.k8s.io/coredns/coredns:v1.11.3",
    53,
    None,
    None,
    "170Mi",
)
