"""`appliance repair` without a cluster: the safety contract, the plan, verification, the CLI's bad input."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from appliance_cli import fluxlayout
from appliance_cli.bootstrap.actions import Actions
from appliance_cli.catalog import load_catalog
from appliance_cli.errors import KubeConflict, KubeNotFound
from appliance_cli.lock import SiteLocked, acquire
from appliance_cli.repair import actions as ra
from appliance_cli.repair import run as rr
from appliance_cli.repair.model import ALLOWED, KEYS, NEVER_TOUCHED, Change, PlannedRepair, RepairRefused
from appliance_cli.repair.verify import verify
from appliance_cli.site import Site
from appliance_cli.status.model import (
    Blocker,
    BlockerRepair,
    ComponentStatus,
    Evidence,
    ReleaseInfo,
    Rollup,
    StatusDocument,
    Tiers,
    TierStatus,
    Urls,
)
from appliance_cli.status.rules import registered
from tests.cli_runner import invoke
from tests.recording import RecordingReporter

Obj = dict[str, Any]
TOKEN = "2026-12-04T18:00:00.000000Z"


# --- fakes ----------------------------------------------------------------------------------


@dataclass
class FakeKube:
    """Objects by (key, namespace, name); every write is recorded."""

    objects: dict[tuple[str, str | None, str], Obj] = field(default_factory=dict)
    calls: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    deleted_uids: list[str | None] = field(default_factory=list)  # the uid precondition of each delete

    def put(self, key: str, obj: Obj) -> None:
        meta = obj["metadata"]
        self.objects[(key, meta.get("namespace"), meta["name"])] = obj

    def list_raw(self, key: str, namespace: str | None = None, *a: Any, **kw: Any) -> Obj:
        items = [
            o
            for (k, ns, _n), o in self.objects.items()
            if k == key and (namespace is None or ns == namespace)
        ]
        return {"items": items}

    def get(self, key: str, namespace: str | None, name: str) -> Obj:
        try:
            return self.objects[(key, namespace, name)]
        except KeyError:
            raise KubeNotFound(f"{key} {namespace}/{name} not found") from None

    def pod_logs(
        self, namespace: str, pod: str, container: str | None = None, tail_lines: int = 50
    ) -> list[str]:
        return []

    def apply(self, obj: Obj, field_manager: str = "x", force: bool = True) -> Obj:
        meta = obj["metadata"]
        self.calls.append(("apply", obj["kind"], meta.get("namespace"), meta["name"]))
        return obj

    def patch_merge(self, key: str, namespace: str | None, name: str, patch: Obj) -> Obj:
        self.calls.append(("patch", key, namespace, name))
        return {}

    def delete(
        self,
        key: str,
        namespace: str | None,
        name: str,
        *,
        missing_ok: bool = True,
        propagation: str | None = None,
        uid: str | None = None,
    ) -> None:
        self.calls.append(("delete", key, namespace, f"{name}:{propagation}"))
        self.deleted_uids.append(uid)
        held = (self.objects.get((key, namespace, name)) or {}).get("metadata", {}).get("uid")
        if uid and held != uid:  # the API server's answer to a failed uid precondition
            raise KubeConflict(
                f"Precondition failed: UID in precondition: {uid}, UID in object meta: {held}", status=409
            )

    def create(self, obj: Obj) -> Obj:
        raise AssertionError("repair never creates objects")


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.01)

    def now(self) -> datetime:
        return datetime(2026, 12, 4, 18, 0, tzinfo=UTC)


def _tier(ready: bool = True) -> TierStatus:
    return TierStatus(ready=ready, status="healthy" if ready else "failed")


def _doc(
    blockers: list[Blocker], *, components: list[ComponentStatus] | None = None, boot: bool = True
) -> StatusDocument:
    t = _tier()
    return StatusDocument(
        site_id="unit",
        timestamp="2026-12-04T18:00:00Z",
        release=ReleaseInfo(),
        urls=Urls(),
        rollup=Rollup(
            state="fully_healthy" if not blockers else "failed_action_required", message="", next_action=""
        ),
        tiers=Tiers(platform=t, core=t, bootstrap=_tier(boot), login=t, background=t, full_health=t),
        top_blockers=blockers,
        components=components or [],
    )


def _blocker(
    code: str, component: str, evidence: list[Evidence], *, blocking: bool = True, available: bool = True
) -> Blocker:
    return Blocker(
        code=code,
        severity="critical" if blocking else "background",
        tier="core" if blocking else "background",
        component=component,
        layer="x",
        reason=f"{code} on {component}",
        next_action="",
        login_blocking=blocking,
        evidence=evidence,
        repair=BlockerRepair(available=available, command=f"appliance repair --code {code}"),
    )


def _pod(name: str, owner_kind: str | None = "ReplicaSet") -> Obj:
    owners = [{"kind": owner_kind, "name": "email-service-abc", "controller": True}] if owner_kind else []
    return {
        "metadata": {"name": name, "namespace": "msp", "ownerReferences": owners},
        "status": {
            "containerStatuses": [
                {"image": "ghcr.io/x/email:1", "state": {"waiting": {"reason": "ImagePullBackOff"}}}
            ]
        },
    }


# --- the safety contract ----------------------------------------------------------------------


def test_every_kind_repair_may_touch_is_listed_and_nothing_destructive_is() -> None:
    assert {
        "Pod": {"delete"},
        "Job": {"delete"},
        "HelmRelease": {"annotate", "apply"},
        "Kustomization": {"annotate"},
        "GitRepository": {"annotate"},
    } == ALLOWED
    assert not set(ALLOWED) & set(NEVER_TOUCHED)
    for kind in ("PersistentVolumeClaim", "PersistentVolume", "Namespace", "Secret"):
        assert kind in NEVER_TOUCHED
    for r in registered():
        assert set(r.spec.repair.touches) <= set(ALLOWED), r.spec.code


@pytest.mark.parametrize("kind", [*NEVER_TOUCHED, "HelmRelease", "Kustomization", "GitRepository"])
def test_deleting_anything_but_a_pod_or_job_is_refused(kind: str) -> None:
    with pytest.raises(RepairRefused):
        Change(kind, "msp", "x", "delete", "delete", "because").check_allowed()


def test_carry_out_refuses_before_changing_anything() -> None:
    kube = FakeKube()
    plan = PlannedRepair("c", "db", "restart_pull", "r")
    plan.changes = [
        Change("Pod", "msp", "db-0", "delete", "delete", "ok"),
        Change("PersistentVolumeClaim", "msp", "db-data-db-0", "delete", "delete", "never"),
    ]
    with pytest.raises(RepairRefused):
        ra.carry_out(kube, Actions(dry_run=False), plan)
    assert kube.calls == []


def test_a_dry_run_records_the_changes_and_makes_none() -> None:
    kube = FakeKube()
    plan = PlannedRepair("c", "x", "rerun_bootstrap", "r")
    plan.changes = [
        Change("Job", "msp", "j", "delete", "delete", "w"),
        Change("HelmRelease", "alga-system", "alga-core", "annotate", "annotate", "w", body={}),
    ]
    actions = Actions(dry_run=True)
    ra.carry_out(kube, actions, plan)
    assert kube.calls == []
    assert len(actions.records) == 2


def test_a_job_is_deleted_with_its_pods() -> None:
    kube = FakeKube()
    plan = PlannedRepair("c", "x", "rerun_bootstrap", "r")
    plan.changes = [Change("Job", "msp", "j", "delete", "delete", "w")]
    ra.carry_out(kube, Actions(dry_run=False), plan)
    assert kube.calls == [("delete", "batch/v1/jobs", "msp", "j:Background")]


# --- builders -----------------------------------------------------------------------------------


def _ctx(kube: FakeKube) -> ra.Context:
    return ra.Context(kube, load_catalog(), TOKEN)


def test_restart_pull_deletes_only_a_pod_its_controller_recreates() -> None:
    kube = FakeKube()
    kube.put(KEYS["Pod"], _pod("email-1"))
    b = _blocker(
        "image_pull_interrupted",
        "email-service",
        [Evidence(kind="Pod", namespace="msp", name="email-1", message="m")],
    )
    plan = ra.build(_ctx(kube), b, "restart_pull")
    assert [(c.kind, c.name, c.verb) for c in plan.changes] == [("Pod", "email-1", "delete")]

    kube.put(KEYS["Pod"], _pod("email-1", owner_kind=None))
    plan = ra.build(_ctx(kube), b, "restart_pull")
    assert not plan.changes and plan.unchanged and "no controller" in plan.unchanged


def _hr(name: str, *, ready: bool) -> Obj:
    hr = copy.deepcopy(next(h for h in fluxlayout.helm_releases() if h["metadata"]["name"] == name))
    hr["metadata"]["namespace"] = "alga-system"
    hr["status"] = {"conditions": [{"type": "Ready", "status": "True" if ready else "False", "reason": "X"}]}
    return hr


def test_reapply_fix_changes_nothing_when_the_fix_is_there() -> None:
    kube = FakeKube()
    kube.put(KEYS["HelmRelease"], _hr("temporal", ready=False))
    b = _blocker("temporal_schema_uninitialized", "temporal", [])
    plan = ra.build(_ctx(kube), b, "reapply_fix")
    assert not plan.changes and plan.unchanged and "already" in plan.unchanged


def test_reapply_fix_applies_the_layout_postrenderers_to_an_older_install() -> None:
    kube = FakeKube()
    old = _hr("temporal", ready=False)
    old["spec"].pop("postRenderers")
    kube.put(KEYS["HelmRelease"], old)
    plan = ra.build(_ctx(kube), _blocker("service_link_collision", "temporal-ui", []), "reapply_fix")
    assert [(c.kind, c.verb) for c in plan.changes] == [("HelmRelease", "apply"), ("HelmRelease", "annotate")]
    applied = plan.changes[0].body or {}
    assert set(applied["spec"]) == {"postRenderers"}
    ann = (plan.changes[1].body or {})["metadata"]["annotations"]
    assert ann == {
        "reconcile.fluxcd.io/requestedAt": TOKEN,
        "reconcile.fluxcd.io/forceAt": TOKEN,
        "reconcile.fluxcd.io/resetAt": TOKEN,
    }


def test_seed_rerun_is_refused_when_the_values_skip_seeding() -> None:
    kube = FakeKube()
    kube.put(KEYS["HelmRelease"], _hr("alga-core", ready=True))
    kube.put(
        "v1/configmaps",
        {
            "metadata": {"name": "appliance-values-alga-core", "namespace": "alga-system"},
            "data": {"values.yaml": "bootstrap:\n  mode: recover\n"},
        },
    )
    plan = ra.build(_ctx(kube), _blocker("seed_data_missing", "alga-core", []), "rerun_bootstrap")
    assert not plan.changes and plan.unchanged and "recover" in plan.unchanged


def test_a_ready_release_is_forced_without_a_reset() -> None:
    kube = FakeKube()
    kube.put(KEYS["HelmRelease"], _hr("alga-core", ready=True))
    kube.put(
        "v1/configmaps",
        {
            "metadata": {"name": "appliance-values-alga-core", "namespace": "alga-system"},
            "data": {"values.yaml": "bootstrap:\n  mode: fresh\n"},
        },
    )
    kube.put(
        KEYS["Job"],
        {"metadata": {"name": "alga-core-sebastian-bootstrap-abcde", "namespace": "msp"}, "status": {}},
    )
    plan = ra.build(_ctx(kube), _blocker("seed_data_missing", "alga-core", []), "rerun_bootstrap")
    assert [(c.kind, c.verb) for c in plan.changes] == [("Job", "delete"), ("HelmRelease", "annotate")]
    assert "reconcile.fluxcd.io/resetAt" not in (plan.changes[1].body or {})["metadata"]["annotations"]


# --- verification -------------------------------------------------------------------------------


def _plan(code: str = "image_pull_interrupted", component: str = "email-service") -> PlannedRepair:
    p = PlannedRepair(code, component, "restart_pull", "r", bound_seconds=10.0, token=TOKEN)
    p.changes = [Change("Pod", "msp", "p", "delete", "delete", "w")]
    return p


def _seq(*docs: StatusDocument) -> Any:
    it = iter(docs)
    last = [docs[-1]]

    def status() -> StatusDocument:
        last[0] = next(it, last[0])
        return last[0]

    return status


def test_verify_fixed_once_blocker_gone_and_component_ready() -> None:
    b = _blocker("image_pull_interrupted", "email-service", [], blocking=False)
    before = _doc([b])
    not_ready = _doc(
        [],
        components=[
            ComponentStatus(name="email-service", tier="background", ready=False, status="progressing")
        ],
    )
    ready = _doc(
        [],
        components=[ComponentStatus(name="email-service", tier="background", ready=True, status="healthy")],
    )
    r = verify(
        _plan(), before=before, status=_seq(before, not_ready, ready), kube=FakeKube(), clock=FakeClock()
    )
    assert r.outcome == "fixed" and "healthy" in r.saw


def test_verify_still_present_after_the_bound_with_what_it_saw() -> None:
    b = _blocker("image_pull_interrupted", "email-service", [], blocking=False)
    before = _doc([b])
    r = verify(_plan(), before=before, status=_seq(before), kube=FakeKube(), clock=FakeClock())
    assert r.outcome == "still_present" and "image_pull_interrupted on email-service" in r.saw
    assert r.seconds >= 10.0


def test_verify_stops_on_a_new_login_blocker_seen_twice() -> None:
    b = _blocker("image_pull_interrupted", "email-service", [], blocking=False)
    before = _doc([b])
    worse = _doc([b, _blocker("crash_loop", "db", [])])
    r = verify(_plan(), before=before, status=_seq(before, worse, worse), kube=FakeKube(), clock=FakeClock())
    assert r.outcome == "worse" and "crash_loop (db)" in r.saw


def test_a_symptom_waits_for_the_next_round_and_root_causes_go_first() -> None:
    docs = _doc(
        [
            _blocker("kustomization_failed", "alga-core", []),
            _blocker("helmrelease_failed", "alga-core", []),
            _blocker("image_pull_interrupted", "db", []),
            _blocker("helmrelease_failed", "temporal", [], available=False),
        ]
    )
    picks, others = rr._select(docs, (), set())
    assert [b.code for b, _a in picks] == [
        "image_pull_interrupted",
        "helmrelease_failed",
        "kustomization_failed",
    ]
    assert others == [("helmrelease_failed", "temporal", "")]


def test_repair_holds_the_site_lock(tmp_path: Any) -> None:
    site = Site.open("repair-locked")
    site.root.mkdir(parents=True, exist_ok=True)
    acquire(site, "upgrade")
    session = rr.Session(
        site=site, kube=FakeKube(), status=lambda: _doc([]), clock=FakeClock(), catalog=load_catalog()
    )
    with pytest.raises(SiteLocked):
        rr.run(session, confirm=lambda plans: True, reporter=RecordingReporter())
    # a dry run takes no lock
    report = rr.run(session, dry_run=True, confirm=lambda plans: True, reporter=RecordingReporter())
    assert report.ok


# --- the CLI's bad input (exit 2, nothing changed) -----------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--code", "no_such_code", "--dry-run"], "--code"),
        (["--code", "image_tag_not_found", "--dry-run"], "no automatic repair"),
        (["--progress", "fancy", "--dry-run"], "--progress"),
        (["--site-id", "nowhere", "--dry-run"], "no kubeconfig"),
        (["--site-id", "nowhere"], "--yes"),
    ],
)
def test_bad_input_exits_2_naming_the_flag(args: list[str], needle: str) -> None:
    r = invoke(["repair", *args])
    assert r.exit_code == 2, r.output
    assert needle in r.output


def test_a_declined_plan_changes_nothing() -> None:
    site = Site.open("repair-declined")
    site.root.mkdir(parents=True, exist_ok=True)
    kube = FakeKube()
    kube.put(KEYS["Pod"], _pod("email-1"))
    b = _blocker(
        "image_pull_interrupted",
        "email-service",
        [Evidence(kind="Pod", namespace="msp", name="email-1", message="m")],
        blocking=False,
    )
    session = rr.Session(
        site=site, kube=kube, status=lambda: _doc([b]), clock=FakeClock(), catalog=load_catalog()
    )
    shown: list[int] = []
    report = rr.run(
        session, confirm=lambda plans: bool(shown.append(len(plans))), reporter=RecordingReporter()
    )
    assert shown == [1] and kube.calls == []
    assert report.stopped and "declined" in report.stopped and not report.ok
    assert not (site.root / "operation.lock").exists()


def test_on_a_terminal_repair_asks_and_no_means_no(monkeypatch: pytest.MonkeyPatch) -> None:
    from appliance_cli.cli import repair as cli

    asked: list[str] = []
    monkeypatch.setattr(cli.typer, "confirm", lambda text, default=False: bool(asked.append(text)))
    assert cli._confirm([_plan()], yes=False, as_json=False) is False
    assert asked == ["Carry out this repair?"]
    assert cli._confirm([_plan()], yes=True, as_json=False) is True
    assert len(asked) == 1


def _stuck_db_pod(kube: FakeKube) -> tuple[Obj, Obj, PlannedRepair]:
    """An install older than the subPath fix: pod db-0 (uid ``uid-stuck``) of StatefulSet db
    at revision db-1, and the repair planned for it. Returns (pod, StatefulSet, plan)."""
    old = _hr("alga-core", ready=False)
    old["spec"].pop("postRenderers")
    kube.put(KEYS["HelmRelease"], old)
    pod = _pod("db-0", owner_kind="StatefulSet")
    pod["metadata"].update(uid="uid-stuck", labels={"controller-revision-hash": "db-1"})
    pod["metadata"]["ownerReferences"][0]["name"] = "db"
    kube.put(KEYS["Pod"], pod)
    sts: Obj = {"metadata": {"name": "db", "namespace": "msp"}, "status": {"updateRevision": "db-1"}}
    kube.put("apps/v1/statefulsets", sts)
    b = _blocker(
        "storage_pvc_subpath_failed", "db", [Evidence(kind="Pod", namespace="msp", name="db-0", message="m")]
    )
    return pod, sts, ra.build(_ctx(kube), b, "reapply_fix")


def test_a_stuck_statefulset_pod_is_deleted_only_once_its_template_changed() -> None:
    kube = FakeKube()
    _, sts, plan = _stuck_db_pod(kube)
    assert [(c.kind, c.verb) for c in plan.changes] == [
        ("HelmRelease", "apply"),
        ("HelmRelease", "annotate"),
        ("Pod", "delete"),
    ]
    assert plan.changes[2].after_statefulset == "msp/db"
    # the template never changes: the pod is left alone after the bound
    clock = FakeClock()
    ra.carry_out(kube, Actions(dry_run=False), plan, clock=clock, bound_seconds=5)
    assert [c[0] for c in kube.calls] == ["apply", "patch"] and clock.t >= 5
    # the new template is in place: the stuck pod goes (never its claim)
    kube.calls.clear()
    sts["status"]["updateRevision"] = "db-2"
    ra.carry_out(kube, Actions(dry_run=False), plan, clock=FakeClock(), bound_seconds=5)
    assert kube.calls[-1] == ("delete", "v1/pods", "msp", "db-0:None")
    assert kube.deleted_uids == ["uid-stuck"]  # that incarnation only


def test_a_stuck_pod_replaced_between_the_last_look_and_the_delete_is_left_to_its_controller() -> None:
    """The StatefulSet controller replaces the pod after the repair saw the new template and
    before its delete arrives: the delete names the old uid, the server refuses it (409), and
    the new pod stays. The repair counts that as done."""
    kube = FakeKube()
    pod, sts, plan = _stuck_db_pod(kube)
    sts["status"]["updateRevision"] = "db-2"
    real_get = kube.get
    looks = 0

    def get_then_replace(key: str, namespace: str | None, name: str) -> Obj:
        nonlocal looks
        got = real_get(key, namespace, name)
        if key == "apps/v1/statefulsets":  # the repair's last look, after the pod's
            looks += 1
            replaced = copy.deepcopy(pod)
            replaced["metadata"].update(uid="uid-new", labels={"controller-revision-hash": "db-2"})
            kube.put(KEYS["Pod"], replaced)  # the controller acts before the delete arrives
        return got

    kube.get = get_then_replace  # type: ignore[method-assign]
    ra.carry_out(kube, Actions(dry_run=False), plan, clock=FakeClock(), bound_seconds=5)
    assert looks == 1 and kube.deleted_uids == ["uid-stuck"]
    assert kube.objects[(KEYS["Pod"], "msp", "db-0")]["metadata"]["uid"] == "uid-new"


def test_a_stuck_statefulset_pod_its_controller_already_replaced_is_not_deleted_again() -> None:
    """A StatefulSet that replaces the stuck pod itself (same name, new uid, new template)
    before the repair looks again: nothing is left to delete, and the repair does not wait
    out its bound for a change that already happened."""
    kube = FakeKube()
    pod, sts, plan = _stuck_db_pod(kube)
    assert plan.changes[2].uid == "uid-stuck"
    replaced = copy.deepcopy(pod)
    replaced["metadata"].update(uid="uid-new", labels={"controller-revision-hash": "db-2"})
    kube.put(KEYS["Pod"], replaced)
    sts["status"]["updateRevision"] = "db-2"
    clock = FakeClock()
    ra.carry_out(kube, Actions(dry_run=False), plan, clock=clock, bound_seconds=60)
    assert [c[0] for c in kube.calls] == ["apply", "patch"] and clock.t < 1
