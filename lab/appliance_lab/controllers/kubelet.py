"""The simulated kubelet (and scheduler): pods move through the states a real node shows.

Pending → ``Scheduled`` → ``Pulling image "X"`` → Pulled/Created/Started → Running/Ready,
or the failure states with kubelet's and containerd's own wording: ErrImagePull →
ImagePullBackOff (registry "not found"), CreateContainerConfigError (subPath), and
CrashLoopBackOff with a growing ``restartCount``, ``lastState.terminated`` and log lines.

What a container does once started is read from the pod itself (its command, args,
``enableServiceLinks``, labels) and the scenario — the same spec on a real node would
behave the same way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from appliance_cli.reset import wipe
from appliance_lab.controllers.base import (
    NODE_IP,
    NODE_NAME,
    PODS,
    PVCS,
    Ctx,
    condition,
    is_true,
    set_condition,
)
from appliance_lab.registry import image_digest
from appliance_lab.store import Obj, now_rfc3339

SMOKE_LABEL = "appliance.alga-psa.io/smoke"

ProgramKind = Literal["serve", "complete", "fail", "crash", "wait-db"]


@dataclass
class Program:
    kind: ProgramKind
    after: float = 0.0  # seconds (speed 1) after start before it completes/fails/crashes
    start_logs: list[str] = field(default_factory=list)
    end_logs: list[str] = field(default_factory=list)
    exit_code: int = 0
    reason: str = "Completed"


@dataclass
class Container:
    name: str
    image: str
    stage: str = "volumes"  # volumes|pulling|pull-backoff|config-error|starting|running|done|crash-backoff
    t0: float = 0.0  # when the current stage began (the lab clock's monotonic seconds)
    restarts: int = 0
    started_at: str | None = None
    ready: bool = False
    terminated: Obj | None = None
    last_terminated: Obj | None = None
    waiting: Obj | None = None
    backoff: float = 10.0
    program: Program | None = None

    def enter(self, stage: str, now: float) -> None:
        self.stage = stage
        self.t0 = now


def _ts() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _log_ts() -> str:
    return datetime.now(UTC).strftime("%Y/%m/%d %H:%M:%S")


def pull_failed_message(image: str) -> str:
    return (
        f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and unpack image '
        f'"{image}": failed to resolve reference "{image}": {image}: not found'
    )


def pull_canceled_message(image: str) -> str:
    return (
        f'Failed to pull image "{image}": rpc error: code = Canceled desc = failed to pull and unpack '
        f'image "{image}": context canceled'
    )


def subpath_message(volume: str, container: str) -> str:
    return f'failed to create subPath directory for volumeMount "{volume}" of container "{container}"'


class Kubelet:
    """Runs pods on the one simulated node."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.containers: dict[str, list[Container]] = {}  # pod uid -> containers
        self.pod_ips: dict[str, str] = {}
        self.interrupted: set[str] = set()  # images whose first pull broke off
        self.bootstrap_jobs: list[str] = []  # bootstrap Jobs in the order they first ran

    # -- programs --------------------------------------------------------------------------
    def program_for(self, pod: Obj, spec: Obj) -> Program:
        sc = self.ctx.scenario
        meta = pod["metadata"]
        labels = meta.get("labels") or {}
        name = str(spec.get("name"))
        pod_spec = pod.get("spec") or {}
        smoke = labels.get(SMOKE_LABEL)
        t = self.ctx.t
        if labels.get(wipe.WIPE_LABEL) == wipe.WIPE_JOB_NAME:
            return self._wipe(pod, spec)
        if smoke == "dns":
            if sc.dns_refused:
                return Program(
                    "fail",
                    t.smoke,
                    [],
                    [
                        ";; connection timed out; no servers could be reached",
                        "",
                        "** server can't find ghcr.io: REFUSED",
                    ],
                    exit_code=1,
                    reason="Error",
                )
            return Program(
                "complete",
                t.smoke,
                [],
                [
                    "Server:\t\t10.96.0.10",
                    "Address:\t10.96.0.10:53",
                    "",
                    "Non-authoritative answer:",
                    "Name:\tghcr.io",
                    "Address: 140.82.112.34",
                ],
            )
        if smoke == "https":
            if sc.dns_refused:
                return Program(
                    "fail",
                    t.smoke,
                    [],
                    ["curl: (6) Could not resolve host: ghcr.io"],
                    exit_code=6,
                    reason="Error",
                )
            return Program("complete", t.smoke, [], ["HTTP/2 200", "ok: https://ghcr.io/v2/ reachable"])
        if smoke == "storage":
            return Program("complete", t.smoke, [], ["wrote /data/smoke/probe.txt", "read back: ok"])
        if name == "temporal" and "autosetup" not in " ".join(
            str(x) for x in [*(spec.get("command") or []), *(spec.get("args") or [])]
        ):
            return Program(
                "crash",
                t.crash_after,
                [
                    f"{_log_ts()} Loading config; env=docker,zone=,configDir=config",
                    f"{_log_ts()} Loading config files=[config/docker.yaml]",
                    '{"level":"info","msg":"Build info.","server-version":"1.25.2",'
                    '"logging-call-at":"main.go:148"}',
                ],
                [
                    '{"level":"fatal","msg":"sql schema version compatibility check failed",'
                    '"error":"unable to read DB schema version keyspace/database: temporal error: '
                    'pq: relation \\"schema_version\\" does not exist","logging-call-at":"main.go:171"}',
                ],
                exit_code=1,
                reason="Error",
            )
        if name == "temporal-ui" and pod_spec.get("enableServiceLinks", True) is not False:
            return Program(
                "crash",
                t.crash_after / 2,
                [
                    f"{_log_ts()} Loading config; env=docker,zone=,configDir=./config",
                ],
                [
                    "unable to load config: yaml: unmarshal errors:",
                    "  line 3: cannot unmarshal !!str `tcp://10.96.148.201:8080` into int",
                ],
                exit_code=1,
                reason="Error",
            )
        if labels.get("job-name", "").startswith("alga-core-sebastian-bootstrap-"):
            if sc.bootstrap_job_fails or self._bootstrap_job_fails(labels["job-name"]):
                return Program(
                    "wait-db",
                    t.bootstrap_job,
                    [
                        "Waiting for PostgreSQL at db.msp.svc.cluster.local:5432 ...",
                    ],
                    [
                        "PostgreSQL is ready",
                        "Running database migrations (knex migrate:latest)",
                        'migration file "20250310140000_add_tenant_to_users.cjs" failed',
                        'migration failed with error: alter table "users" add column "tenant" uuid '
                        'not null - column "tenant" of relation "users" already exists',
                        "Error: migrations failed; bootstrap aborted",
                    ],
                    exit_code=1,
                    reason="Error",
                )
            return Program(
                "wait-db",
                t.bootstrap_job,
                [
                    "Waiting for PostgreSQL at db.msp.svc.cluster.local:5432 ...",
                ],
                [
                    "PostgreSQL is ready",
                    "Running database migrations (knex migrate:latest)",
                    "Batch 1 run: 214 migrations",
                    f"Running seeds: {sc.seed_users} users, 1 tenant",
                    "Bootstrap complete",
                ],
            )
        if (pod_spec.get("restartPolicy") or "Always") != "Always":
            return Program("complete", t.smoke, [], ["done"])
        if sc.image_crashes(str(spec.get("image", ""))):
            return Program(
                "crash",
                t.crash_after,
                [f"{_log_ts()} {name} starting"],
                [f"{_log_ts()} lab scenario: this build of {spec.get('image')} exits at start (crashImages)"],
                exit_code=1,
                reason="Error",
            )
        return Program("serve", 0.0, [f"{_log_ts()} {name} starting", f"{_log_ts()} {name} ready"])

    def _bootstrap_job_fails(self, job: str) -> bool:
        """``bootstrapJobFailures: N``: every pod of the first N bootstrap Jobs fails."""
        if job not in self.bootstrap_jobs:
            self.bootstrap_jobs.append(job)
        return self.bootstrap_jobs.index(job) < self.ctx.scenario.bootstrap_job_failures

    def _wipe(self, pod: Obj, spec: Obj) -> Program:
        """The reset's wipe container: empties the hostPath directory it mounts on the node's
        disk, sparing the entries named in ``KEEP``, and prints what its script prints."""
        mounts = {m.get("name"): m.get("mountPath") for m in spec.get("volumeMounts") or []}
        env = {e.get("name"): e.get("value") or "" for e in spec.get("env") or []}
        target = next(
            (
                str(v["hostPath"]["path"]).rstrip("/")
                for v in (pod.get("spec") or {}).get("volumes") or []
                if v.get("hostPath") and mounts.get(v.get("name")) == env.get("WIPE_DIR")
            ),
            None,
        )
        if target is None:
            cant = f"cd: can't cd to {env.get('WIPE_DIR')}"
            return Program("fail", self.ctx.t.smoke, [], [cant], exit_code=2, reason="Error")
        keep = {k for k in str(env.get("KEEP")).splitlines() if k}
        removed: set[str] = set()
        for path in sorted(self.ctx.host_dirs):
            entry = wipe.entry_of(path, target)
            if entry and entry not in keep:
                self.ctx.host_dirs.discard(path)
                removed.add(entry)
        if removed:
            self.ctx.seeded_users = 0  # the database's files went with them
        lines = wipe.log_lines(len(removed), str(env.get("WIPE_PATH") or target), [])
        return Program("complete", self.ctx.t.smoke, [], lines)

    # -- helpers ---------------------------------------------------------------------------
    def _event(self, pod: Obj, c: Container | None, reason: str, message: str, warning: bool = False) -> None:
        self.ctx.event(
            pod,
            reason,
            message,
            type_="Warning" if warning else "Normal",
            field_path=f"spec.containers{{{c.name}}}" if c else None,
        )

    def _pvc_volumes(self, pod: Obj) -> dict[str, str]:
        out: dict[str, str] = {}
        for v in (pod.get("spec") or {}).get("volumes") or []:
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                out[str(v.get("name"))] = str(claim)
        return out

    def _volumes_bound(self, pod: Obj) -> bool:
        ns = pod["metadata"]["namespace"]
        for claim in self._pvc_volumes(pod).values():
            pvc = self.ctx.store.try_get_ref(PVCS, ns, claim)
            if pvc is None or (pvc.get("status") or {}).get("phase") != "Bound":
                return False
        return True

    def _db_ready(self, ns: str) -> bool:
        pod = self.ctx.store.try_get_ref(PODS, ns, "db-0")
        return pod is not None and is_true(pod, "Ready")

    # -- the loop --------------------------------------------------------------------------
    def reconcile(self) -> None:
        if not self.ctx.kubernetes_up.is_set():
            return
        refs, _ = self.ctx.store.snapshot(PODS)  # read-only: the kubelet writes through ctx.mutate
        live = set()
        for _key, ref in refs:
            uid = ref["metadata"]["uid"]
            live.add(uid)
            # Adopt only pods nobody has run yet: a pod seeded already Running, Succeeded
            # or Failed (e.g. by a benchmark) is left as it is.
            if uid not in self.containers and (ref.get("status") or {}).get("phase") not in (None, "Pending"):
                continue
            if ref["metadata"].get("deletionTimestamp"):
                continue
            self._pod(ref)
        for uid in [u for u in self.containers if u not in live]:
            del self.containers[uid]

    def _pod(self, pod: Obj) -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        ctx = self.ctx
        spec = pod.get("spec") or {}
        if uid not in self.containers:
            if not ctx.due(f"sched:{uid}", ctx.t.schedule):
                return
            missing = [
                c
                for c in self._pvc_volumes(pod).values()
                if ctx.store.try_get_ref(PVCS, meta["namespace"], c) is None
            ]
            if missing:
                if ctx.once(f"fs:{uid}"):
                    ctx.event(
                        pod,
                        "FailedScheduling",
                        f'0/1 nodes are available: persistentvolumeclaim "{missing[0]}" not found. '
                        "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
                        type_="Warning",
                        component="default-scheduler",
                    )
                return
            self.containers[uid] = [
                Container(name=str(c.get("name")), image=str(c.get("image", "")), t0=ctx.monotonic())
                for c in spec.get("containers") or []
            ]
            self.pod_ips[uid] = NODE_IP if spec.get("hostNetwork") else f"10.244.0.{random.randint(10, 250)}"

            def schedule(o: Obj) -> None:
                o.setdefault("spec", {})["nodeName"] = NODE_NAME

            ctx.mutate(PODS, pod, schedule)
            ctx.event(
                pod,
                "Scheduled",
                f"Successfully assigned {meta['namespace']}/{meta['name']} to {NODE_NAME}",
                component="default-scheduler",
            )
        containers = self.containers[uid]
        specs = {str(c.get("name")): c for c in spec.get("containers") or []}
        restart_policy = spec.get("restartPolicy") or "Always"
        for c in containers:
            self._container(pod, c, specs.get(c.name, {}), restart_policy)
        self._write_status(pod, containers, restart_policy)

    def _container(self, pod: Obj, c: Container, cspec: Obj, restart_policy: str) -> None:
        ctx = self.ctx
        sc = ctx.scenario
        meta = pod["metadata"]
        if c.stage == "volumes":
            c.waiting = {"reason": "ContainerCreating"}
            if not self._volumes_bound(pod):
                return
            if c.image in ctx.pulled_images:
                self._event(pod, c, "Pulled", f'Container image "{c.image}" already present on machine')
                c.enter("config", ctx.monotonic())
            else:
                self._event(pod, c, "Pulling", f'Pulling image "{c.image}"')
                c.enter("pulling", ctx.monotonic())
        if c.stage == "pulling":
            seconds = sc.pull_seconds(c.image)
            if not ctx.passed(c.t0, seconds):
                return
            if sc.image_missing(c.image):
                self._event(pod, c, "Failed", pull_failed_message(c.image), warning=True)
                self._event(pod, c, "Failed", "Error: ErrImagePull", warning=True)
                c.waiting = {"reason": "ErrImagePull", "message": pull_failed_message(c.image)}
                c.enter("pull-backoff", ctx.monotonic())
                return
            if sc.pull_interrupted(c.image) and c.image not in self.interrupted:
                self.interrupted.add(c.image)  # this pod's pull stays failed; the next pod's works
                msg = pull_canceled_message(c.image)
                self._event(pod, c, "Failed", msg, warning=True)
                self._event(pod, c, "Failed", "Error: ErrImagePull", warning=True)
                c.waiting = {"reason": "ErrImagePull", "message": msg}
                c.enter("pull-backoff", ctx.monotonic())
                return
            ctx.pulled_images.add(c.image)
            took = f"{seconds:.3f}s"
            size = 1_800_000_000 if "alga-psa-ee" in c.image else 90_000_000
            self._event(
                pod,
                c,
                "Pulled",
                f'Successfully pulled image "{c.image}" in {took} '
                f"({took} including waiting). Image size: {size} bytes.",
            )
            c.enter("config", ctx.monotonic())
        if c.stage == "pull-backoff":
            if (c.waiting or {}).get("reason") == "ErrImagePull" and ctx.passed(c.t0, 2.0):
                msg = f'Back-off pulling image "{c.image}"'
                self._event(pod, c, "BackOff", msg)
                self._event(pod, c, "Failed", "Error: ImagePullBackOff", warning=True)
                c.waiting = {"reason": "ImagePullBackOff", "message": msg}
            return
        if c.stage == "config":
            if sc.subpath_broken:
                pvcs = self._pvc_volumes(pod)
                for vm in cspec.get("volumeMounts") or []:
                    if vm.get("subPath") and vm.get("name") in pvcs:
                        msg = subpath_message(str(vm["name"]), c.name)
                        self._event(pod, c, "Failed", f"Error: {msg}", warning=True)
                        c.waiting = {"reason": "CreateContainerConfigError", "message": msg}
                        c.enter("config-error", ctx.monotonic())
                        return
            c.enter("starting", ctx.monotonic())
        if c.stage == "config-error":
            if ctx.passed(c.t0, 15.0):  # the kubelet retries and reports again
                msg = str((c.waiting or {}).get("message"))
                self._event(pod, c, "Failed", f"Error: {msg}", warning=True)
                c.t0 = ctx.monotonic()
            return
        if c.stage == "starting":
            if not ctx.passed(c.t0, ctx.t.container_start):
                return
            self._event(pod, c, "Created", f"Created container {c.name}")
            self._event(pod, c, "Started", f"Started container {c.name}")
            c.program = self.program_for(pod, cspec)
            c.started_at = now_rfc3339()
            c.waiting = None
            c.terminated = None
            ctx.store.append_pod_log(meta["namespace"], meta["name"], c.name, c.program.start_logs)
            c.enter("running", ctx.monotonic())
        if c.stage == "running":
            prog = c.program or Program("serve")
            if prog.kind == "serve":
                if not c.ready and ctx.passed(c.t0, ctx.t.ready):
                    c.ready = True
                return
            if prog.kind == "wait-db" and not self._db_ready(meta["namespace"]):
                c.t0 = ctx.monotonic()
                return
            if not ctx.passed(c.t0, prog.after):
                return
            ctx.store.append_pod_log(meta["namespace"], meta["name"], c.name, prog.end_logs)
            code = 1 if prog.kind == "crash" else prog.exit_code
            term: Obj = {
                "exitCode": code,
                "reason": prog.reason if code else "Completed",
                "startedAt": c.started_at,
                "finishedAt": now_rfc3339(),
                "containerID": f"containerd://{meta['uid'].replace('-', '')}{c.restarts:02d}",
            }
            c.ready = False
            if prog.kind == "crash" or (code != 0 and restart_policy == "Always"):
                c.last_terminated = term
                c.restarts += 1
                c.backoff = min(10.0 * 2 ** (c.restarts - 1), 300.0)
                msg = (
                    f"back-off {int(c.backoff)}s restarting failed container={c.name} "
                    f"pod={meta['name']}_{meta['namespace']}({meta['uid']})"
                )
                c.waiting = {"reason": "CrashLoopBackOff", "message": msg}
                self._event(
                    pod,
                    c,
                    "BackOff",
                    f"Back-off restarting failed container {c.name} in pod "
                    f"{meta['name']}_{meta['namespace']}({meta['uid']})",
                    warning=True,
                )
                # While backing off, the terminated instance's log is both "previous" and what a
                # plain log request shows (the kubelet serves the last instance).
                ns, pname = meta["namespace"], meta["name"]
                last_run = ctx.store.pod_log(ns, pname, c.name) or []
                ctx.store.restart_pod_log(ns, pname, c.name)
                ctx.store.append_pod_log(ns, pname, c.name, last_run)
                c.enter("crash-backoff", ctx.monotonic())
                return
            c.terminated = term
            c.enter("done", ctx.monotonic())
            return
        if c.stage == "crash-backoff":
            if not ctx.passed(c.t0, c.backoff):
                return
            ctx.store.restart_pod_log(meta["namespace"], meta["name"], c.name)
            self._event(pod, c, "Pulled", f'Container image "{c.image}" already present on machine')
            c.enter("starting", ctx.monotonic())

    def _write_status(self, pod: Obj, containers: list[Container], restart_policy: str) -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        statuses: list[Obj] = []
        for c in containers:
            state: Obj
            if c.stage in ("running",):
                state = {"running": {"startedAt": c.started_at}}
            elif c.stage == "done" and c.terminated is not None:
                state = {"terminated": c.terminated}
            else:
                state = {"waiting": c.waiting or {"reason": "ContainerCreating"}}
            cs: Obj = {
                "name": c.name,
                "image": c.image,
                "imageID": (
                    f"{c.image.split(':')[0]}@{image_digest(c.image)}"
                    if c.image in self.ctx.pulled_images
                    else ""
                ),
                "ready": c.ready,
                "started": c.stage == "running",
                "restartCount": c.restarts,
                "state": state,
                "lastState": {"terminated": c.last_terminated} if c.last_terminated else {},
            }
            if c.started_at:
                cs["containerID"] = f"containerd://{uid.replace('-', '')}{c.restarts:02d}"
            statuses.append(cs)
        all_done = all(c.stage == "done" for c in containers) and bool(containers)
        if all_done and restart_policy != "Always":
            failed = any((c.terminated or {}).get("exitCode", 0) != 0 for c in containers)
            phase = "Failed" if failed else "Succeeded"
        elif any(c.stage in ("running", "crash-backoff", "done") or c.restarts for c in containers):
            phase = "Running"
        else:
            phase = "Pending"
        ready = bool(containers) and all(c.ready for c in containers)
        cur = pod.get("status") or {}
        conds = list(cur.get("conditions") or [])
        not_ready = [c.name for c in containers if not c.ready]
        nr_msg = f"containers with unready status: [{' '.join(not_ready)}]"
        sandbox = any(c.stage not in ("volumes",) for c in containers)
        conds = set_condition(conds, condition("PodReadyToStartContainers", sandbox))
        conds = set_condition(conds, condition("Initialized", True))
        if phase in ("Succeeded", "Failed"):
            conds = set_condition(conds, condition("Ready", False, "PodCompleted"))
            conds = set_condition(conds, condition("ContainersReady", False, "PodCompleted"))
        else:
            conds = set_condition(
                conds,
                condition("Ready", ready, "" if ready else "ContainersNotReady", "" if ready else nr_msg),
            )
            conds = set_condition(
                conds,
                condition(
                    "ContainersReady", ready, "" if ready else "ContainersNotReady", "" if ready else nr_msg
                ),
            )
        conds = set_condition(conds, condition("PodScheduled", True))
        ip = self.pod_ips.get(uid, "10.244.0.10")
        status: Obj = {
            "phase": phase,
            "conditions": conds,
            "hostIP": NODE_IP,
            "hostIPs": [{"ip": NODE_IP}],
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": cur.get("startTime") or now_rfc3339(),
            "containerStatuses": statuses,
            "qosClass": "Burstable",
        }
        strip = {k: v for k, v in cur.items() if k != "conditions"}
        new_strip = {k: v for k, v in status.items() if k != "conditions"}
        if strip == new_strip and [(c["type"], c["status"]) for c in cur.get("conditions") or []] == [
            (c["type"], c["status"]) for c in conds
        ]:
            return
        self.ctx.set_status(PODS, pod, status)
        if phase in ("Succeeded", "Failed"):
            self.containers.pop(uid, None)
