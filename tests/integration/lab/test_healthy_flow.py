"""The healthy scenario end to end: what bootstrap applies, watched through the lab API over HTTP."""

from __future__ import annotations

import httpx
import pytest
from appliance_lab.testing import LabHandle

from appliance_cli.tls import default_client_context

KS = "kustomize.toolkit.fluxcd.io/v1/kustomizations"
HR = "helm.toolkit.fluxcd.io/v2/helmreleases"
GR = "source.toolkit.fluxcd.io/v1/gitrepositories"


@pytest.mark.lab(scenario="healthy", speed=60)
def test_healthy_tiers_become_ready_in_dependency_order(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects()
    # core waits for platform: DependencyNotReady while platform is not Ready yet
    core = lab.wait_for(lambda: lab.condition(KS, "flux-system", "alga-core"), what="alga-core condition")
    assert core["reason"] in ("DependencyNotReady", "ArtifactFailed")
    lab.wait_for(lambda: lab.ready(GR, "flux-system", "alga-appliance"), what="GitRepository Ready")
    repo = lab.get(GR, "flux-system", "alga-appliance")
    assert repo is not None
    revision = repo["status"]["artifact"]["revision"]
    assert revision.startswith("main@sha1:") and len(revision.split(":")[1]) == 40
    for tier in ("alga-platform", "alga-core", "alga-background"):
        lab.wait_for(lambda t=tier: lab.ready(KS, "flux-system", t), timeout=30, what=f"{tier} Ready")
        ks = lab.get(KS, "flux-system", tier)
        assert ks is not None
        assert ks["status"]["lastAppliedRevision"] == revision
        assert ks["status"]["observedGeneration"] == ks["metadata"]["generation"]
        ready = next(c for c in ks["status"]["conditions"] if c["type"] == "Ready")
        assert ready == ready | {
            "reason": "ReconciliationSucceeded",
            "message": f"Applied revision: {revision}",
        }
    hr = lab.get(HR, "alga-system", "alga-core")
    assert hr is not None
    ready = next(c for c in hr["status"]["conditions"] if c["type"] == "Ready")
    assert ready["message"].startswith(
        "Helm install succeeded for release msp/alga-core.v1 with chart sebastian@"
    )


@pytest.mark.lab(scenario="healthy", speed=60)
def test_healthy_core_workloads_names_status_and_login(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects(tiers=("platform", "core"))
    lab.wait_for(lambda: lab.ready(KS, "flux-system", "alga-core"), timeout=30, what="alga-core Ready")
    deploy = lab.get("apps/v1/deployments", "msp", "alga-core-sebastian")
    assert deploy is not None
    st = deploy["status"]
    assert (st["replicas"], st["readyReplicas"], st["updatedReplicas"], st["availableReplicas"]) == (
        1,
        1,
        1,
        1,
    )
    assert st["observedGeneration"] == deploy["metadata"]["generation"]
    assert {c["type"]: c["reason"] for c in st["conditions"]} == {
        "Available": "MinimumReplicasAvailable",
        "Progressing": "NewReplicaSetAvailable",
    }
    pods = lab.list_objects("v1/pods", "msp")
    names = {p["metadata"]["name"] for p in pods}
    assert {"db-0", "redis-0"} <= names
    web = [n for n in names if n.startswith("alga-core-sebastian-") and "bootstrap" not in n]
    assert len(web) == 1
    rs_hash = deploy["metadata"]["name"] + "-"
    parts = web[0].removeprefix(rs_hash).split("-")
    assert len(parts) == 2 and len(parts[0]) == 10 and len(parts[1]) == 5
    # the image comes from the release (via the values ConfigMap)
    web_pod = next(p for p in pods if p["metadata"]["name"] == web[0])
    assert web_pod["spec"]["containers"][0]["image"] == "ghcr.io/nine-minds/alga-psa-ee:a2cbb430"
    pulls = [
        e for e in lab.events("msp") if e["reason"] == "Pulling" and e["involvedObject"]["name"] == web[0]
    ]
    assert pulls and pulls[0]["message"] == 'Pulling image "ghcr.io/nine-minds/alga-psa-ee:a2cbb430"'
    # PVCs bound by local-path, with the provisioner's host path
    pvc = lab.get("v1/persistentvolumeclaims", "msp", "db-data-db-0")
    assert pvc is not None and pvc["status"]["phase"] == "Bound"
    pv = lab.get("v1/persistentvolumes", None, pvc["spec"]["volumeName"])
    assert pv is not None
    assert pv["spec"]["hostPath"]["path"] == (
        f"/var/local-path-provisioner/pvc-{pvc['metadata']['uid']}_msp_db-data-db-0"
    )
    # bootstrap Job complete
    jobs = [
        j
        for j in lab.list_objects("batch/v1/jobs", "msp")
        if j["metadata"]["name"].startswith("alga-core-sebastian-bootstrap-")
    ]
    assert len(jobs) == 1
    assert len(jobs[0]["metadata"]["name"].removeprefix("alga-core-sebastian-bootstrap-")) == 5
    assert jobs[0]["status"]["succeeded"] == 1
    # login answers like the app
    resp = httpx.get(lab.login_url + "/", follow_redirects=False, timeout=5)
    assert resp.status_code == 307 and resp.headers["location"] == "/msp/dashboard"


@pytest.mark.lab(scenario="healthy", speed=60)
def test_seed_users_probe_over_exec_websocket(lab: LabHandle) -> None:
    from kubernetes import client
    from kubernetes.stream import stream

    lab.apply_bootstrap_objects(tiers=("platform", "core"))
    lab.wait_for(lambda: lab.ready(KS, "flux-system", "alga-core"), timeout=30, what="alga-core Ready")
    api = lab.api_client()
    try:
        out = stream(
            client.CoreV1Api(api).connect_get_namespaced_pod_exec,
            "db-0",
            "msp",
            container="db",
            command=["psql", "-U", "postgres", "-d", "server", "-tAc", "select count(*) from users"],
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
        )
    finally:
        api.close()
    assert out.strip() == "7"


@pytest.mark.lab(scenario="healthy", speed=60)
def test_status_service_starts_when_its_deployment_is_ready(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects(tiers=("platform",))
    lab.wait_for(lambda: lab.ready(KS, "flux-system", "alga-platform"), timeout=30, what="platform Ready")

    def healthz() -> bool:
        try:
            return (
                httpx.get(lab.status_url + "/healthz", timeout=2, verify=default_client_context()).status_code
                == 200
            )
        except httpx.HTTPError:
            return False

    lab.wait_for(healthz, timeout=10, what="status service /healthz")


@pytest.mark.lab(scenario="healthy", speed=120)
def test_finished_bootstrap_job_is_deleted_after_its_ttl_and_seeds_stay(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects(tiers=("platform", "core"))
    lab.wait_for(lambda: lab.ready(KS, "flux-system", "alga-core"), timeout=30, what="alga-core Ready")

    def bootstrap_jobs() -> list[dict[str, object]]:
        return [
            j
            for j in lab.list_objects("batch/v1/jobs", "msp")
            if str(j["metadata"]["name"]).startswith("alga-core-sebastian-bootstrap-")
        ]

    lab.wait_for(
        lambda: not bootstrap_jobs(), timeout=30, what="bootstrap Job deleted (ttlSecondsAfterFinished)"
    )
    assert not [p for p in lab.list_objects("v1/pods", "msp", labelSelector="job-name")]
    assert lab.ready(HR, "alga-system", "alga-core")
    assert lab.store is not None
    out = lab.store.run_exec(
        "msp",
        "db-0",
        "db",
        ["psql", "-U", "postgres", "-d", "server", "-tAc", "select count(*) from users"],
    )
    assert out == ("7\n", "", 0)
