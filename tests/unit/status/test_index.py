"""The snapshot index: events matched to live objects by UID, components through the catalog."""

from __future__ import annotations

from appliance_cli.status.index import build_index, image_repository, image_tag, same_repository

from .builders import BOOTSTRAP_JOB, NOW, component_pod, event, healthy_cluster, pod, running


def test_events_count_only_for_the_live_incarnation_of_an_object() -> None:
    cl = healthy_cluster()
    live = component_pod("temporal")
    old = component_pod("temporal", incarnation="previous")
    cl.put(event(live, "Started", "Started container temporal", type="Normal", minutes_ago=2))
    cl.put(event(old, "Killing", "Stopping container temporal", type="Normal", minutes_ago=3))
    no_uid = event(
        live, "Pulled", "Container image already present on machine", type="Normal", minutes_ago=2.5
    )
    del no_uid["involvedObject"]["uid"]
    cl.put(no_uid)
    idx = build_index(cl.snapshot(), now=NOW)
    assert [te.reason for te in idx.events_for(live)] == ["Pulled", "Started"], "oldest first, by UID or name"
    assert len(idx.all_events) == 3


def test_components_of_pods_jobs_helm_releases_and_claims() -> None:
    cl = healthy_cluster()
    job_pod = pod(f"{BOOTSTRAP_JOB}-x2k9p", [running("bootstrap", "img:1")], owner=("Job", BOOTSTRAP_JOB))
    cl.put(job_pod)
    idx = build_index(cl.snapshot(), now=NOW)
    assert idx.component_of_pod(job_pod) is not None
    assert idx.component_of_pod(job_pod).name == "alga-core"  # type: ignore[union-attr]
    assert idx.component_of_pod(component_pod("temporal-ui")).name == "temporal-ui"  # type: ignore[union-attr]
    assert [c.name for c in idx.components_of_helm_release("alga-core")] == ["db", "redis", "alga-core"]
    assert idx.component_of_helm_release("alga-core").name == "alga-core"  # type: ignore[union-attr]
    claim = cl.get("PersistentVolumeClaim", "db-data-db-0")
    assert idx.component_of_pvc(claim).name == "db"  # type: ignore[arg-type, union-attr]


def test_image_reference_parsing() -> None:
    assert image_repository("localhost:5000/org/app:1.2@sha256:abc") == "localhost:5000/org/app"
    assert image_tag("localhost:5000/org/app") is None
    assert image_tag("ghcr.io/nine-minds/alga-psa-ee:979e2079") == "979e2079"
    assert same_repository("postgres:16", "docker.io/library/postgres:15")
