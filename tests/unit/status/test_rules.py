"""Each blocker rule against realistic API objects, with its healthy or recovered negative."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from appliance_lab.objects import set_condition

from appliance_cli.releases import load_release
from appliance_cli.status.classify import classify
from appliance_cli.status.model import StatusDocument
from appliance_cli.status.rules import registered

from .builders import (
    BOOTSTRAP_JOB,
    IMAGES,
    Cluster,
    component_pod,
    component_workload,
    deployment,
    event,
    git_repository,
    healthy_cluster,
    helm_release,
    image_pull_backoff,
    job,
    kustomization,
    node,
    not_found_message,
    pod,
    pvc,
    running,
    terminated,
    ts,
    waiting,
)

Mutation = Callable[[Cluster], None]
RELEASE = load_release("1.0-rc5")

DNS_MSG = (
    "failed to checkout and determine revision: "
    "unable to clone 'https://github.com/Nine-Minds/alga-psa.git': "
    "dial tcp: lookup github.com on 10.96.0.10:53: server misbehaving"
)
SUBPATH_MSG = 'failed to create subPath directory for volumeMount "db-data" of container "postgres"'
AUTH_MSG = (
    'Failed to pull image "{0}": rpc error: code = Unknown desc = failed to pull and unpack image "{0}": '
    'failed to resolve reference "{0}": failed to authorize: failed to fetch anonymous token: unexpected '
    "status from GET request to https://ghcr.io/token?scope=repository%3Anine-minds%2Femail-service%3Apull"
    "&service=ghcr.io: 401 Unauthorized"
)
EOF_MSG = (
    'Failed to pull image "{0}": rpc error: code = Unknown desc = failed to pull and unpack image "{0}": '
    "failed to copy: httpReadSeeker: failed open: failed to do request: Get "
    '"https://pkg-containers.githubusercontent.com/ghcr1/blobs/sha256:5d41402abc4b2a76b9719d911017c592": '
    "read tcp 10.0.2.15:41862->185.199.108.154:443: read: connection reset by peer"
)
TEMPORAL_LOG = [
    '{"level":"info","ts":"2026-04-30T02:07:01.100Z","msg":"Updated dynamic config",'
    '"logging-call-at":"file_based_client.go:195"}',
    '{"level":"fatal","ts":"2026-04-30T02:07:01.512Z","msg":"sql schema version compatibility check failed",'
    '"error":"unable to read DB schema version keyspace/database: temporal error: pq: relation '
    '\\"schema_version\\" does not exist","logging-call-at":"main.go:151"}',
]
SERVICE_LINK_LOG = [
    "2026/04/30 02:06:58 Loading config; env=docker,zone=,configDir=config",
    "2026/04/30 02:06:58 unable to load configuration: config file corrupted: yaml: unmarshal errors:",
    "  line 12: cannot unmarshal !!str `tcp://10.96.12.7:7233` into int",
]


def classify_cluster(cl: Cluster, **kw: object) -> StatusDocument:
    return classify(cl.snapshot(), **kw)  # type: ignore[arg-type]


def codes(doc: StatusDocument) -> list[tuple[str, str]]:
    return [(b.code, b.component) for b in doc.top_blockers]


# --- mutations: (breaks the cluster) and (the healthy/recovered variant) -------------------------


def kube_down(cl: Cluster) -> None:
    cl.kube = {
        "reachable": False,
        "error": 'Get "https://192.168.64.8:6443/api?timeout=32s": dial tcp '
        "192.168.64.8:6443: connect: connection refused",
    }


def talos_down(cl: Cluster) -> None:
    cl.talos = {
        "checked": True,
        "reachable": False,
        "error": "rpc error: code = Unavailable desc = connection "
        'error: desc = "transport: Error while dialing: dial tcp 192.168.64.8:50000: connect: connection '
        'refused"',
    }


def talos_unchecked(cl: Cluster) -> None:
    cl.talos = {"checked": False, "reachable": None, "error": None}


def node_down(cl: Cluster) -> None:
    cl.put(
        node(
            ready=False,
            reason="KubeletNotReady",
            message="container runtime network not ready: "
            "NetworkReady=false reason:NetworkPluginNotReady "
            "message:Network plugin returns error: cni plugin "
            "not initialized",
        )
    )


def dns_refused(cl: Cluster) -> None:
    cl.put(git_repository(ready="False", reason="GitOperationFailed", message=DNS_MSG))


def source_branch_missing(cl: Cluster) -> None:
    cl.put(
        git_repository(
            ready="False",
            reason="GitOperationFailed",
            message="failed to checkout and determine "
            "revision: unable to clone 'https://github.com/Nine-Minds/alga-psa.git': couldn't find "
            'remote ref "refs/heads/release/1.0-rc9"',
        )
    )


def source_reconciling(cl: Cluster) -> None:
    repo = git_repository(
        ready="Unknown",
        reason="Progressing",
        message="building artifact: new upstream revision 'release/1.0-rc5@sha1:979e2079'",
    )
    cl.put(repo)


def db_subpath(cl: Cluster) -> None:
    p = component_pod("db", [waiting("postgres", IMAGES["db"], "CreateContainerConfigError", SUBPATH_MSG)])
    cl.put(p, component_workload("db", ready=False))
    cl.put(event(p, "Failed", f"Error: {SUBPATH_MSG}", count=9, first_minutes_ago=8))


def db_subpath_recovered(cl: Cluster) -> None:
    p = component_pod("db")
    cl.put(p, event(p, "Failed", f"Error: {SUBPATH_MSG}", count=9, minutes_ago=20, first_minutes_ago=28))


def pvc_provision_failed(cl: Cluster) -> None:
    claim = pvc("db-data-db-0", phase="Pending", created=20)
    cl.put(
        claim,
        event(
            claim,
            "ProvisioningFailed",
            'failed to provision volume with StorageClass "local-path": '
            "configuration error, no node was specified",
            source="rancher.io/local-path",
        ),
    )
    cl.put(component_workload("db", ready=False))
    cl.put(component_pod("db", [waiting("postgres", IMAGES["db"], "ContainerCreating")]))


def pvc_waiting_consumer(cl: Cluster) -> None:
    claim = pvc("db-data-db-0", phase="Pending", created=1)
    cl.put(
        claim,
        event(
            claim,
            "WaitForFirstConsumer",
            "waiting for first consumer to be created before binding",
            type="Normal",
            source="persistentvolume-controller",
        ),
    )


def no_memory(cl: Cluster) -> None:
    sched = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "lastTransitionTime": "x",
        "message": "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: "
        "1 No preemption victims found for incoming pod.",
    }
    p = component_pod(
        "temporal",
        [waiting("temporal", IMAGES["temporal"], "ContainerCreating")],
        scheduled=sched,
        phase="Pending",
    )
    p["status"]["containerStatuses"] = []
    cl.put(p, component_workload("temporal", ready=False))
    cl.put(event(p, "FailedScheduling", sched["message"], source="default-scheduler"))


def unbound_pvc_only(cl: Cluster) -> None:
    sched = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: "
        "0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
    }
    p = component_pod("redis", [], scheduled=sched, phase="Pending")
    cl.put(p, component_workload("redis", ready=False))


def worker_tag_missing(cl: Cluster) -> None:
    image_pull_backoff(cl, "workflow-worker", not_found_message(IMAGES["workflow-worker"]))


def worker_tag_missing_recovered(cl: Cluster) -> None:
    p = component_pod("workflow-worker")
    cl.put(p, event(p, "Failed", not_found_message(IMAGES["workflow-worker"]), minutes_ago=30))


def preflight_missing(cl: Cluster) -> None:
    cl.release_facts = {
        "imageChecks": [
            {
                "component": "workflow-worker",
                "image": IMAGES["workflow-worker"],
                "outcome": "missing",
                "error": "manifest unknown: manifest unknown",
                "checkedAt": "2026-04-30T01:50:00Z",
            },
            {"component": "alga-core", "image": IMAGES["alga-core"], "outcome": "present"},
        ]
    }


def email_unauthorized(cl: Cluster) -> None:
    image_pull_backoff(cl, "email-service", AUTH_MSG.format(IMAGES["email-service"]))


def core_pull_reset(cl: Cluster) -> None:
    image_pull_backoff(cl, "alga-core", EOF_MSG.format(IMAGES["alga-core"]))


def old_incarnation_pull_failure(cl: Cluster) -> None:
    """A replaced pod's failure events (other UID) must not count against the live pod, which is pulling."""
    image = IMAGES["alga-core"]
    p = component_pod("alga-core", [waiting("web", image, "ContainerCreating")])
    old = component_pod("alga-core", incarnation="old")
    cl.put(p, component_workload("alga-core", ready=False))
    cl.put(event(p, "Pulling", f'Pulling image "{image}"', type="Normal", minutes_ago=3))
    cl.put(event(old, "Failed", EOF_MSG.format(image), minutes_ago=5))
    cl.put(event(old, "Failed", not_found_message(image), minutes_ago=5))


def missing_secret(cl: Cluster) -> None:
    p = component_pod(
        "pgbouncer",
        [
            waiting(
                "pgbouncer",
                IMAGES["pgbouncer"],
                "CreateContainerConfigError",
                'secret "pgbouncer-auth" not found',
            )
        ],
    )
    cl.put(p, component_workload("pgbouncer", ready=False))
    cl.put(event(p, "Failed", 'Error: secret "pgbouncer-auth" not found', count=14))


def missing_secret_recovered(cl: Cluster) -> None:
    p = component_pod("pgbouncer")
    cl.put(p, event(p, "Failed", 'Error: secret "pgbouncer-auth" not found', minutes_ago=25))


def bootstrap_failed(cl: Cluster) -> None:
    j = job(BOOTSTRAP_JOB, state="failed")
    cl.put(j)
    p = pod(
        f"{BOOTSTRAP_JOB}-x2k9p",
        [waiting("bootstrap", IMAGES["alga-core"], "", "")],
        phase="Failed",
        owner=("Job", BOOTSTRAP_JOB),
    )
    p["status"]["containerStatuses"] = [
        {
            "name": "bootstrap",
            "image": IMAGES["alga-core"],
            "ready": False,
            "restartCount": 0,
            "state": {"terminated": terminated("Error", 1)},
            "lastState": {},
        }
    ]
    cl.put(p)
    cl.logs[f"msp/{BOOTSTRAP_JOB}-x2k9p/bootstrap"] = [
        "Running migrations...",
        "Batch 1 run: 212 migrations",
        'error: password authentication failed for user "app_user"',
    ]
    cl.probes["seedUsers"] = {"count": None, "error": 'relation "users" does not exist', "source": "exec"}


def bootstrap_running(cl: Cluster) -> None:
    cl.put(job(BOOTSTRAP_JOB, state="running", created=2))
    cl.probes["seedUsers"] = {"count": None, "error": None, "source": "none"}


def seed_zero(cl: Cluster) -> None:
    cl.probes["seedUsers"] = {"count": 0, "error": None, "source": "exec"}


def seed_unknown(cl: Cluster) -> None:
    cl.probes["seedUsers"] = {"count": None, "error": "exec not allowed", "source": "exec"}


def crash(component: str, cname: str, logs: list[str], *, last: dict[str, object] | None = None) -> Mutation:
    def apply(cl: Cluster) -> None:
        image = IMAGES[component]
        t = last or terminated("Error", 1)
        p = component_pod(
            component,
            [
                waiting(
                    cname,
                    image,
                    "CrashLoopBackOff",
                    f"back-off 5m0s restarting failed container={cname} pod={component}_msp",
                    restarts=7,
                    last=t,
                )
            ],
        )
        cl.put(p, component_workload(component, ready=False))
        cl.logs[f"msp/{p['metadata']['name']}/{cname}"] = logs

    return apply


def recovered(
    component: str, cname: str, logs: list[str], *, last: dict[str, object] | None = None
) -> Mutation:
    def apply(cl: Cluster) -> None:
        p = component_pod(
            component,
            [
                running(
                    cname,
                    IMAGES[component],
                    restarts=3,
                    started=15,
                    last=last or terminated("Error", 1, minutes_ago=16),
                )
            ],
        )
        cl.put(p)
        cl.logs[f"msp/{p['metadata']['name']}/{cname}"] = logs

    return apply


def probe_502(cl: Cluster) -> None:
    cl.probes["login"] = {
        "url": "http://192.168.64.8:3000",
        "statusCode": 502,
        "location": None,
        "error": None,
    }


def probe_fails_web_starting(cl: Cluster) -> None:
    cl.probes["login"] = {
        "url": "http://192.168.64.8:3000",
        "statusCode": None,
        "location": None,
        "error": "[Errno 111] Connection refused",
    }
    cl.put(
        component_workload("alga-core", ready=False),
        component_pod("alga-core", [running("web", IMAGES["alga-core"], ready=False, started=1)]),
    )


def core_drift(cl: Cluster) -> None:
    cl.put(deployment("alga-core-sebastian", "ghcr.io/nine-minds/alga-psa-ee:5c1d2e3f", container="web"))


def background_health_timeout(cl: Cluster) -> None:
    cl.put(
        kustomization(
            "alga-background",
            ready="False",
            reason="HealthCheckFailed",
            message="health check failed after 5m0s: timeout waiting for: "
            "[Deployment/msp/temporal-ui status: 'InProgress']",
        )
    )


def background_waits_for_core(cl: Cluster) -> None:
    cl.put(
        kustomization(
            "alga-background",
            ready="False",
            reason="DependencyNotReady",
            message="dependency 'flux-system/alga-core' is not ready",
        )
    )


def email_helm_timeout(cl: Cluster) -> None:
    cl.put(
        helm_release(
            "email-service",
            ready="False",
            reason="InstallFailed",
            message="Helm install failed for release alga-system/email-service with chart "
            "email-service@0.1.0: context deadline exceeded",
            stalled={"reason": "RetriesExceeded", "message": "Failed to install after 1 attempt(s)"},
        )
    )


def email_helm_installing(cl: Cluster) -> None:
    cl.put(
        helm_release(
            "email-service",
            ready="Unknown",
            reason="Progressing",
            message="Running 'install' action with timeout of 10m0s",
            reconciling=True,
        )
    )


def ui_deadline(cl: Cluster) -> None:
    cl.put(component_workload("temporal-ui", ready=False, progress_deadline=True))
    cl.put(
        component_pod("temporal-ui", [running("temporal-ui", IMAGES["temporal-ui"], ready=False, started=12)])
    )


def ui_rolling_out(cl: Cluster) -> None:
    cl.put(component_workload("temporal-ui", ready=False))
    cl.put(
        component_pod("temporal-ui", [running("temporal-ui", IMAGES["temporal-ui"], ready=False, started=1)])
    )


OOM = terminated("OOMKilled", 137)
APP_LOG = ["Starting email-service", "Error: connect ECONNREFUSED 10.96.0.20:5432"]
RATE_LIMIT_MSG = (
    'Failed to pull image "{0}": rpc error: code = Unknown desc = failed to pull and unpack image "{0}": '
    "failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/"
    "temporalio/auto-setup/manifests/sha256:50aa4698fa6262977cff89181b2664b99d8a56dbca847bf62f2ef04854597cf8"
    ": "
    "429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit. You may "
    "increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit"
)
MOUNT_MSG = (
    'MountVolume.NewMounter initialization failed for volume "pvc-5c019138-a2d9-4b37-8032-ff71327dfcc7" : '
    'path "/var/local-path-provisioner/pvc-5c019138-a2d9-4b37-8032-ff71327dfcc7_msp_db-data-db-0" '
    "does not exist"
)


def disk_pressure(cl: Cluster) -> None:
    n = node()
    set_condition(
        n["status"]["conditions"],
        {
            "type": "DiskPressure",
            "status": "True",
            "reason": "KubeletHasDiskPressure",
            "message": "kubelet has disk pressure",
            "lastTransitionTime": ts(12),
        },
    )
    n["spec"] = {"taints": [{"key": "node.kubernetes.io/disk-pressure", "effect": "NoSchedule"}]}
    cl.put(n)


def no_disk_pressure(cl: Cluster) -> None:
    n = node()
    set_condition(
        n["status"]["conditions"],
        {
            "type": "DiskPressure",
            "status": "False",
            "reason": "KubeletHasNoDiskPressure",
            "message": "kubelet has no disk pressure",
            "lastTransitionTime": ts(12),
        },
    )
    cl.put(n)


def db_mount_failed(cl: Cluster) -> None:
    p = component_pod("db", [waiting("db", IMAGES["db"], "ContainerCreating")], phase="Pending")
    cl.put(p, component_workload("db", ready=False))
    cl.put(event(p, "FailedMount", MOUNT_MSG, minutes_ago=0.5, count=12, first_minutes_ago=9))


def db_mounted_after_retry(cl: Cluster) -> None:
    p = component_pod("db")
    cl.put(p)
    cl.put(
        event(p, "FailedMount", MOUNT_MSG, minutes_ago=28, count=2, first_minutes_ago=29),
        event(p, "Started", "Started container db", type="Normal", minutes_ago=27),
    )


def temporal_rate_limited(cl: Cluster) -> None:
    image_pull_backoff(cl, "temporal", RATE_LIMIT_MSG.format(IMAGES["temporal"]))


def _flux_controller_pod(containers: list[dict[str, object]]) -> dict[str, object]:
    p = pod(
        "kustomize-controller-5f7d8c9b4d-h78vp",
        containers,
        namespace="flux-system",
        owner=("ReplicaSet", "kustomize-controller-5f7d8c9b4d"),
    )
    p["metadata"]["labels"] = {"app": "kustomize-controller", "pod-template-hash": "5f7d8c9b4d"}
    return p


def kustomize_controller_oom(cl: Cluster) -> None:
    image = "ghcr.io/fluxcd/kustomize-controller:v1.4.0"
    cl.put(
        _flux_controller_pod(
            [
                waiting(
                    "manager",
                    image,
                    "CrashLoopBackOff",
                    "back-off 5m0s restarting failed container=manager",
                    restarts=9,
                    last=OOM,
                )
            ]
        )
    )


def kustomize_controller_running(cl: Cluster) -> None:
    cl.put(_flux_controller_pod([running("manager", "ghcr.io/fluxcd/kustomize-controller:v1.4.0")]))


# code, component, mutation, negative mutation (no blocker with that code)
CASES: list[tuple[str, str, Mutation, Mutation]] = [
    ("kubernetes_api_unreachable", "kubernetes", kube_down, lambda cl: None),
    ("talos_api_unreachable", "talos", talos_down, talos_unchecked),
    ("node_not_ready", "node", node_down, lambda cl: cl.put(node())),
    ("node_pressure", "node", disk_pressure, no_disk_pressure),
    (
        "flux_controller_unavailable",
        "kustomize-controller",
        kustomize_controller_oom,
        kustomize_controller_running,
    ),
    ("volume_mount_failed", "db", db_mount_failed, db_mounted_after_retry),
    ("image_pull_rate_limited", "temporal", temporal_rate_limited, lambda cl: None),
    ("dns_resolution_failed", "dns", dns_refused, source_branch_missing),
    ("flux_source_failed", "flux-source", source_branch_missing, source_reconciling),
    ("storage_pvc_subpath_failed", "db", db_subpath, db_subpath_recovered),
    ("pvc_pending", "db", pvc_provision_failed, pvc_waiting_consumer),
    ("unschedulable", "temporal", no_memory, unbound_pvc_only),
    ("image_tag_not_found", "workflow-worker", worker_tag_missing, worker_tag_missing_recovered),
    ("image_tag_not_found", "workflow-worker", preflight_missing, lambda cl: None),
    ("image_pull_auth_failed", "email-service", email_unauthorized, lambda cl: None),
    ("image_pull_interrupted", "alga-core", core_pull_reset, old_incarnation_pull_failure),
    ("container_config_error", "pgbouncer", missing_secret, missing_secret_recovered),
    ("bootstrap_job_failed", "alga-core", bootstrap_failed, bootstrap_running),
    ("seed_data_missing", "alga-core", seed_zero, seed_unknown),
    (
        "temporal_schema_uninitialized",
        "temporal",
        crash("temporal", "temporal", TEMPORAL_LOG),
        recovered("temporal", "temporal", TEMPORAL_LOG),
    ),
    (
        "service_link_collision",
        "temporal-worker",
        crash("temporal-worker", "temporal-worker", SERVICE_LINK_LOG),
        recovered("temporal-worker", "temporal-worker", SERVICE_LINK_LOG),
    ),
    (
        "oom_killed",
        "email-service",
        crash("email-service", "email-service", [], last=OOM),
        recovered("email-service", "email-service", [], last=OOM),
    ),
    (
        "crash_loop",
        "email-service",
        crash("email-service", "email-service", APP_LOG),
        recovered("email-service", "email-service", APP_LOG),
    ),
    ("login_probe_failed", "alga-core", probe_502, probe_fails_web_starting),
    ("release_image_drift", "alga-core", core_drift, lambda cl: None),
    ("kustomization_failed", "alga-background", background_health_timeout, background_waits_for_core),
    ("helmrelease_failed", "email-service", email_helm_timeout, email_helm_installing),
    ("workload_not_ready", "temporal-ui", ui_deadline, ui_rolling_out),
]


def test_every_registered_code_has_a_rule_case() -> None:
    assert {c for c, *_ in CASES} == {r.spec.code for r in registered()}
    assert len(registered()) == 27


@pytest.mark.parametrize(("code", "component", "breaks", "_ok"), CASES, ids=[c[0] for c in CASES])
def test_rule_fires_on_its_signal(code: str, component: str, breaks: Mutation, _ok: Mutation) -> None:
    cl = healthy_cluster()
    breaks(cl)
    doc = classify_cluster(cl, release=RELEASE)
    assert (code, component) in codes(doc), codes(doc)
    blocker = next(b for b in doc.top_blockers if b.code == code)
    assert blocker.evidence, "every blocker carries evidence"
    assert blocker.next_action
    assert blocker.reason


@pytest.mark.parametrize(("code", "_component", "_breaks", "ok"), CASES, ids=[c[0] for c in CASES])
def test_healthy_or_recovered_variant_gives_no_blocker(
    code: str, _component: str, _breaks: Mutation, ok: Mutation
) -> None:
    cl = healthy_cluster()
    ok(cl)
    doc = classify_cluster(cl, release=RELEASE)
    assert code not in [c for c, _ in codes(doc)], codes(doc)


def test_healthy_cluster_has_no_blocker_at_all() -> None:
    doc = classify_cluster(healthy_cluster(), release=RELEASE)
    assert doc.top_blockers == []
    assert doc.rollup.state == "fully_healthy"


def test_dns_failure_outranks_the_flux_source_failure_it_causes() -> None:
    cl = healthy_cluster()
    dns_refused(cl)
    doc = classify_cluster(cl)
    assert [c for c, _ in codes(doc)][:2] == ["dns_resolution_failed", "flux_source_failed"]
    assert "server misbehaving" in doc.top_blockers[0].reason


def test_oom_and_crash_loop_of_one_component_list_the_cause_first() -> None:
    cl = healthy_cluster()
    crash("email-service", "email-service", APP_LOG, last=OOM)(cl)
    found = [c for c, comp in codes(classify_cluster(cl)) if comp == "email-service"]
    assert found.index("oom_killed") < found.index("crash_loop")


def test_temporal_schema_cause_outranks_its_crash_loop() -> None:
    cl = healthy_cluster()
    crash("temporal", "temporal", TEMPORAL_LOG)(cl)
    found = [c for c, comp in codes(classify_cluster(cl)) if comp == "temporal"]
    assert found == ["temporal_schema_uninitialized", "crash_loop"]


def test_talos_trouble_alone_keeps_platform_ready_and_login() -> None:
    cl = healthy_cluster()
    talos_down(cl)
    doc = classify_cluster(cl)
    assert doc.tiers.platform.ready
    assert doc.tiers.login.ready
    talos = next(b for b in doc.top_blockers if b.code == "talos_api_unreachable")
    assert not talos.login_blocking


def test_waiting_states_are_not_blockers() -> None:
    cl = healthy_cluster()
    background_waits_for_core(cl)
    email_helm_installing(cl)
    bootstrap_running(cl)
    doc = classify_cluster(cl)
    assert doc.top_blockers == []
    assert doc.rollup.state == "installing"
    assert {o.operation for o in doc.active_operations} >= {"running_job", "reconciling"}


def test_pull_failure_of_an_older_pod_incarnation_does_not_count() -> None:
    cl = healthy_cluster()
    old_incarnation_pull_failure(cl)
    doc = classify_cluster(cl, release=RELEASE)
    assert doc.top_blockers == []
    op = next(o for o in doc.active_operations if o.operation == "pulling_image")
    assert (op.component, op.elapsed_seconds, op.estimated_size) == ("alga-core", 180, "~1.8 GB")


def test_preflight_missing_core_tag_blocks_login_before_any_pull() -> None:
    cl = healthy_cluster()
    cl.release_facts = {
        "imageChecks": [
            {
                "component": "alga-core",
                "image": IMAGES["alga-core"],
                "outcome": "missing",
                "error": "manifest unknown",
            }
        ]
    }
    cl.remove("Pod", component_pod("alga-core")["metadata"]["name"])
    cl.put(component_workload("alga-core", ready=False))
    doc = classify_cluster(cl)
    top = doc.top_blockers[0]
    assert (top.code, top.component, top.login_blocking) == ("image_tag_not_found", "alga-core", True)
    assert doc.rollup.state == "failed_action_required"
    assert doc.release.image_checks[0].outcome == "missing"


def test_bootstrap_job_failure_carries_its_log_tail() -> None:
    cl = healthy_cluster()
    bootstrap_failed(cl)
    doc = classify_cluster(cl)
    b = doc.top_blockers[0]
    assert b.code == "bootstrap_job_failed"
    assert "password authentication failed" in b.reason
    assert any(e.kind == "PodLog" and "Batch 1 run" in e.message for e in b.evidence)
    assert doc.rollup.state == "failed_action_required"
    assert not doc.tiers.bootstrap.ready and doc.tiers.bootstrap.status == "failed"


def test_missing_bootstrap_job_counts_when_helmrelease_ready_and_users_seeded() -> None:
    cl = healthy_cluster()
    cl.remove("Job", BOOTSTRAP_JOB)
    assert classify_cluster(cl).tiers.bootstrap.ready
    cl.probes["seedUsers"] = {"count": None, "error": "not probed"}
    assert not classify_cluster(cl).tiers.bootstrap.ready, "a missing Job alone proves nothing"


@pytest.mark.parametrize(
    ("status", "location", "ok"),
    [
        (200, None, True),
        (307, "/msp/dashboard", True),
        (302, "/login?callbackUrl=%2F", True),
        (302, "http://192.168.64.8:3000/auth/signin", True),
        (302, "https://accounts.example.com/login", True),
        (302, "https://evil.example.com/", False),
        (500, None, False),
        (404, None, False),
    ],
)
def test_login_probe_acceptance(status: int, location: str | None, ok: bool) -> None:
    cl = healthy_cluster()
    cl.probes["login"] = {
        "url": "http://192.168.64.8:3000",
        "statusCode": status,
        "location": location,
        "error": None,
    }
    doc = classify_cluster(cl)
    assert doc.tiers.login.ready is ok
    assert ("login_probe_failed" in [c for c, _ in codes(doc)]) is (not ok)


def test_pull_is_an_active_operation_before_the_kubelet_reports_container_status() -> None:
    cl = healthy_cluster()
    image = IMAGES["alga-core"]
    p = component_pod("alga-core", [waiting("web", image, "ContainerCreating")])
    p["status"]["containerStatuses"] = []
    cl.put(p, component_workload("alga-core", ready=False))
    cl.put(event(p, "Pulling", f'Pulling image "{image}"', type="Normal", minutes_ago=2))
    doc = classify_cluster(cl, release=RELEASE)
    assert [(o.operation, o.elapsed_seconds) for o in doc.active_operations] == [("pulling_image", 120)]
    assert doc.top_blockers == []


def test_one_restart_while_starting_is_not_a_crash_loop() -> None:
    cl = healthy_cluster()
    p = component_pod(
        "temporal",
        [
            running(
                "temporal",
                IMAGES["temporal"],
                ready=False,
                restarts=1,
                started=0.5,
                last=terminated("Error", 1, minutes_ago=1),
            )
        ],
    )
    cl.put(p, component_workload("temporal", ready=False))
    cl.logs[f"msp/{p['metadata']['name']}/temporal"] = [
        "dial tcp 10.96.0.20:5432: connect: connection refused"
    ]
    assert codes(classify_cluster(cl)) == []


@pytest.mark.parametrize(
    "breaks",
    [
        crash("alga-core", "web", ["Error: getaddrinfo EAI_AGAIN db.msp.svc.cluster.local"]),
        lambda cl: image_pull_backoff(
            cl,
            "redis",
            f'Failed to pull image "{IMAGES["redis"]}": rpc error: code = Unknown desc = failed to pull and '
            f'unpack image "{IMAGES["redis"]}": failed to resolve reference "{IMAGES["redis"]}": '
            'failed to do request: Head "https://registry-1.docker.io/v2/library/redis/manifests/7.2.5": '
            "dial tcp: lookup registry-1.docker.io on 10.96.0.10:53: server misbehaving",
        ),
    ],
    ids=["app-log", "image-pull"],
)
def test_dns_failure_seen_by_apps_and_pulls_is_the_root_cause(breaks: Mutation) -> None:
    cl = healthy_cluster()
    breaks(cl)
    doc = classify_cluster(cl)
    assert doc.top_blockers[0].code == "dns_resolution_failed"
    assert not any(b.code in ("image_pull_interrupted", "image_tag_not_found") for b in doc.top_blockers)


def test_missing_bootstrap_job_does_not_count_when_helm_release_is_behind_its_revision() -> None:
    cl = healthy_cluster()
    cl.remove("Job", BOOTSTRAP_JOB)
    hr = helm_release("alga-core")
    hr["status"]["lastAttemptedRevision"] = "0.2.0"  # upgrade attempted; history still at 0.1.0
    cl.put(hr)
    assert not classify_cluster(cl).tiers.bootstrap.ready


def test_log_tail_reason_names_the_error_line_not_the_stack_frame() -> None:
    from appliance_cli.status.rules.app import key_log_line

    lines = [
        "Batch 1 run: 212 migrations",
        'error: column "tenant" of relation "tax_regions" already exists',
        "    at Parser.parseErrorMessage (/app/node_modules/pg-protocol/dist/parser.js:283:98)",
        "[bootstrap] done",
    ]
    assert key_log_line(lines) == 'error: column "tenant" of relation "tax_regions" already exists'
    assert key_log_line(["all good"]) == "all good"


def test_web_container_waiting_for_readiness_is_a_starting_operation() -> None:
    cl = healthy_cluster()
    probe_fails_web_starting(cl)
    doc = classify_cluster(cl)
    assert doc.top_blockers == []
    op = next(o for o in doc.active_operations if o.operation == "starting")
    assert (op.component, op.elapsed_seconds) == ("alga-core", 60)
    assert doc.rollup.state == "installing" and "waiting to become ready" in doc.rollup.next_action
