"""Each failure scenario, watched through the lab API over HTTP: the states, wordings and logs
the status classifier reads on a real appliance."""

from __future__ import annotations

from typing import Any

import pytest
from appliance_lab.scenario import load_scenario, scenario_names
from appliance_lab.testing import LabHandle

KS = "kustomize.toolkit.fluxcd.io/v1/kustomizations"
HR = "helm.toolkit.fluxcd.io/v2/helmreleases"
GR = "source.toolkit.fluxcd.io/v1/gitrepositories"


def _pod(lab: LabHandle, prefix: str, ns: str = "msp") -> dict[str, Any] | None:
    for p in lab.list_objects("v1/pods", ns):
        name = p["metadata"]["name"]
        if name.startswith(prefix) and "bootstrap" not in name.removeprefix(prefix):
            return p
    return None


def _waiting(pod: dict[str, Any] | None) -> dict[str, Any]:
    for cs in ((pod or {}).get("status") or {}).get("containerStatuses") or []:
        w = (cs.get("state") or {}).get("waiting")
        if w:
            return dict(w)
    return {}


def _messages(lab: LabHandle, name: str, ns: str = "msp") -> list[str]:
    return [e["message"] for e in lab.events(ns) if e["involvedObject"]["name"] == name]


def test_every_scenario_file_loads() -> None:
    names = scenario_names()
    assert {
        "healthy",
        "missing-background-tag",
        "slow-core-pull",
        "postgres-subpath",
        "dns-refused",
        "temporal-autosetup",
        "bootstrap-job-fails",
    } <= set(names)
    for name in names:
        assert load_scenario(name).description


@pytest.mark.lab(scenario="missing-background-tag", speed=60)
def test_missing_background_tag_backs_off_with_containerd_not_found(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects()
    image = "ghcr.io/nine-minds/workflow-worker:61e4a00e"
    pod = lab.wait_for(
        lambda: (
            (p := _pod(lab, "workflow-worker-")) and _waiting(p).get("reason") == "ImagePullBackOff" and p
        ),
        timeout=30,
        what="workflow-worker ImagePullBackOff",
    )
    assert _waiting(pod)["message"] == f'Back-off pulling image "{image}"'
    msgs = _messages(lab, pod["metadata"]["name"])
    assert (
        f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and unpack image '
        f'"{image}": failed to resolve reference "{image}": {image}: not found'
    ) in msgs
    assert "Error: ErrImagePull" in msgs and f'Back-off pulling image "{image}"' in msgs
    # login is not held back
    assert lab.ready(KS, "flux-system", "alga-core")
    bg = lab.condition(KS, "flux-system", "alga-background")
    assert bg is not None and bg["status"] != "True"


@pytest.mark.lab(scenario="slow-core-pull", speed=20)
def test_slow_core_pull_is_an_active_pull_then_ready(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects(tiers=("platform", "core"))
    image = "ghcr.io/nine-minds/alga-psa-ee:a2cbb430"

    def pulling() -> Any:
        pod = _pod(lab, "alga-core-sebastian-")
        if pod is None:
            return None
        msgs = _messages(lab, pod["metadata"]["name"])
        pulling_now = f'Pulling image "{image}"' in msgs and not any(
            m.startswith("Successfully pulled") for m in msgs
        )
        if pulling_now and _waiting(pod).get("reason") == "ContainerCreating":
            return pod
        return None

    pod = lab.wait_for(pulling, timeout=30, what="alga-core pulling")
    assert _waiting(pod).get("reason") == "ContainerCreating"
    assert pod["status"]["phase"] == "Pending"
    lab.wait_for(lambda: lab.ready(KS, "flux-system", "alga-core"), timeout=30, what="alga-core Ready")


@pytest.mark.lab(scenario="postgres-subpath", speed=60)
def test_postgres_subpath_config_error_then_helm_timeout(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects(tiers=("platform", "core"))
    msg = 'failed to create subPath directory for volumeMount "db-data" of container "db"'
    db = lab.wait_for(
        lambda: (
            (p := lab.get("v1/pods", "msp", "db-0"))
            and _waiting(p).get("reason") == "CreateContainerConfigError"
            and p
        ),
        timeout=30,
        what="db-0 CreateContainerConfigError",
    )
    assert _waiting(db)["message"] == msg
    assert f"Error: {msg}" in _messages(lab, "db-0")
    pvc = lab.get("v1/persistentvolumeclaims", "msp", "db-data-db-0")
    assert pvc is not None and pvc["status"]["phase"] == "Bound"

    def failed() -> Any:
        c = lab.condition(HR, "alga-system", "alga-core")
        return c if c and c["status"] == "False" else None

    ready = lab.wait_for(failed, timeout=30, what="alga-core InstallFailed")
    assert ready["reason"] == "InstallFailed"
    assert ready["message"].startswith("Helm install failed for release msp/alga-core with chart sebastian@")
    assert ready["message"].endswith(": context deadline exceeded")
    ks = lab.wait_for(
        lambda: (c := lab.condition(KS, "flux-system", "alga-core")) and c["status"] == "False" and c,
        timeout=30,
        what="alga-core Kustomization failed",
    )
    assert ks["reason"] == "HealthCheckFailed"
    assert "HelmRelease/alga-system/alga-core" in ks["message"]


@pytest.mark.lab(scenario="dns-refused", speed=60)
def test_dns_refused_fails_flux_sources_and_dns_smoke(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects()
    lab.apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "smoke-dns",
                "namespace": "appliance-system",
                "labels": {"appliance.alga-psa.io/smoke": "dns"},
            },
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "dns", "image": "busybox:1.36", "command": ["nslookup", "ghcr.io"]}],
            },
        }
    )
    cond = lab.wait_for(
        lambda: (c := lab.condition(GR, "flux-system", "alga-appliance")) and c["status"] == "False" and c,
        timeout=30,
        what="GitRepository failure",
    )
    assert cond["reason"] == "GitOperationFailed"
    assert cond["message"] == (
        "failed to checkout and determine revision: unable to clone "
        "'https://github.com/Nine-Minds/alga-psa-appliance.git': dial tcp: lookup github.com on "
        "10.96.0.10:53: server misbehaving"
    )
    lab.wait_for(
        lambda: (
            (p := lab.get("v1/pods", "appliance-system", "smoke-dns"))
            and p["status"].get("phase") == "Failed"
        ),
        timeout=30,
        what="DNS smoke pod Failed",
    )
    log = lab.http().get("/api/v1/namespaces/appliance-system/pods/smoke-dns/log").text
    assert ";; connection timed out; no servers could be reached" in log
    ks = lab.wait_for(lambda: lab.condition(KS, "flux-system", "alga-platform"), what="platform condition")
    assert ks["status"] == "False"


@pytest.mark.lab(scenario="temporal-autosetup", speed=60)
def test_temporal_without_autosetup_crash_loops_with_schema_log(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects()

    def looping() -> Any:
        pod = _pod(lab, "temporal-", "msp")
        pods = [
            p
            for p in lab.list_objects("v1/pods", "msp")
            if p["metadata"]["name"].startswith("temporal-")
            and not p["metadata"]["name"].startswith(("temporal-ui-", "temporal-worker-"))
        ]
        pod = pods[0] if pods else None
        cs = ((pod or {}).get("status") or {}).get("containerStatuses") or [{}]
        return pod if cs[0].get("restartCount", 0) >= 2 else None

    pod = lab.wait_for(looping, timeout=30, what="temporal restartCount >= 2")
    cs = pod["status"]["containerStatuses"][0]
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    name = pod["metadata"]["name"]
    prev = lab.http().get(f"/api/v1/namespaces/msp/pods/{name}/log", params={"previous": "true"}).text
    assert "sql schema version compatibility check failed" in prev
    assert any(
        m.startswith("Back-off restarting failed container temporal in pod ") for m in _messages(lab, name)
    )
    # the layout's other fixes still apply: temporal-ui runs
    ui = lab.wait_for(
        lambda: (
            (p := _pod(lab, "temporal-ui-"))
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
            and p
        ),
        timeout=30,
        what="temporal-ui Ready",
    )
    assert ui["spec"]["enableServiceLinks"] is False
    assert lab.ready(KS, "flux-system", "alga-core")


def _without_service_links_fix() -> Any:
    return load_scenario("healthy").model_copy(
        update={"disabled_fixes": ["service-links"], "name": "no-links"}
    )


@pytest.mark.lab(scenario=_without_service_links_fix(), speed=60)
def test_temporal_ui_with_service_links_crash_loops(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects()
    pod = lab.wait_for(
        lambda: (p := _pod(lab, "temporal-ui-")) and _waiting(p).get("reason") == "CrashLoopBackOff" and p,
        timeout=30,
        what="temporal-ui CrashLoopBackOff",
    )
    name = pod["metadata"]["name"]
    prev = lab.http().get(f"/api/v1/namespaces/msp/pods/{name}/log", params={"previous": "true"}).text
    assert "cannot unmarshal !!str `tcp://" in prev


@pytest.mark.lab(scenario="bootstrap-job-fails", speed=60)
def test_bootstrap_job_fails_with_backoff_limit_and_migration_log(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects(tiers=("platform", "core"))

    def failed_job() -> Any:
        for j in lab.list_objects("batch/v1/jobs", "msp"):
            if j["metadata"]["name"].startswith("alga-core-sebastian-bootstrap-") and any(
                c["type"] == "Failed" and c["status"] == "True"
                for c in (j.get("status") or {}).get("conditions", [])
            ):
                return j
        return None

    job = lab.wait_for(failed_job, timeout=30, what="bootstrap Job Failed")
    failed = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    assert (failed["reason"], failed["message"]) == (
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
    )
    assert job["status"]["failed"] == job["spec"]["backoffLimit"] + 1
    pods = lab.list_objects("v1/pods", "msp", labelSelector=f"job-name={job['metadata']['name']}")
    assert len(pods) == job["spec"]["backoffLimit"] + 1
    assert all(p["status"]["phase"] == "Failed" for p in pods)
    log = lab.http().get(f"/api/v1/namespaces/msp/pods/{pods[0]['metadata']['name']}/log").text
    assert "migration failed with error" in log
    hr = lab.wait_for(
        lambda: (c := lab.condition(HR, "alga-system", "alga-core")) and c["status"] == "False" and c,
        timeout=30,
        what="alga-core InstallFailed",
    )
    assert hr["reason"] == "InstallFailed"
    assert f"job {job['metadata']['name']} failed: BackoffLimitExceeded" in hr["message"]
    assert lab.store is not None
    out = lab.store.run_exec(
        "msp",
        "db-0",
        "db",
        ["psql", "-U", "postgres", "-d", "server", "-tAc", "select count(*) from users"],
    )
    assert out is not None and out[2] == 1 and 'relation "users" does not exist' in out[1]
