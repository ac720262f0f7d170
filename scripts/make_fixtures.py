#!/usr/bin/env python3
"""Generate the status-classifier fixtures under tests/fixtures/ (deterministic).

    .venv/bin/python scripts/make_fixtures.py          # rewrite every fixture
    .venv/bin/python scripts/make_fixtures.py --check  # exit 1 if a file would change or is left over

Writes
  tests/fixtures/objects/<code>/<positive|negative>-<variant>.json   one rule, one situation
  tests/fixtures/snapshots/<scenario>.json                           whole ClusterSnapshots
  tests/fixtures/snapshots/expectations.json                         what each scenario classifies as

Every object is shaped as the Kubernetes / Flux API returns it, every message is the wording
the real component prints (sources in tests/fixtures/README.md). Times are relative to one
fixed ``collectedAt``; uids and resourceVersions are derived from names, so a re-run writes
byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from appliance_lab.objects import (  # noqa: E402
    APP_REPO,
    APPLIANCE_REPO,
    BACKGROUND_COMPS,
    BOOTSTRAP_JOB,
    CHARTS_REV,
    COLLECTED,
    COMPS,
    COREDNS,
    CS,
    FLUX_COMPS,
    HELM_RELEASES,
    NODE,
    NODE_IP,
    RELEASE,
    Comp,
    Obj,
    backoff_msg,
    cfp,
    cond,
    configmap,
    deployment,
    digest,
    event,
    flux_event,
    forbidden_error,
    git_repository,
    helm_release,
    hexdigest,
    history_entry,
    job,
    job_pod,
    kustomization,
    meta,
    node,
    not_found_error,
    owner_ref,
    pod,
    pod_name,
    pod_suffix,
    pull_failure_events,
    pvc,
    rate_limited_error,
    resource_list,
    rs_hash,
    running,
    rv,
    scheduler_event,
    statefulset,
    terminated,
    ts,
    uid,
    unauthorized_error,
    waiting,
)

from appliance_cli.fluxlayout import release_selection_configmap  # noqa: E402
from appliance_cli.releases import load_release  # noqa: E402
from appliance_cli.status.snapshot import RESOURCE_KEYS  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures"

APP_URL = f"http://{NODE_IP}:3000"
STATUS_URL = f"http://{NODE_IP}:8080"
SITE_ID = "appliance-single-node"
CLUSTER_DNS = "10.96.0.10"

KEY_NODES, KEY_PODS, KEY_EVENTS, KEY_PVCS, KEY_CMS = RESOURCE_KEYS[:5]
KEY_DEPLOY, KEY_STS, KEY_JOBS, KEY_GITREPO, KEY_KS, KEY_HR = RESOURCE_KEYS[5:]


# --- deterministic primitives ----------------------------------------------------------------


def configmaps() -> list[Obj]:
    release = load_release(RELEASE)
    sel = release_selection_configmap(
        release,
        appliance_repo_url=APPLIANCE_REPO,
        appliance_branch="main",
        app_url=APP_URL,
        bootstrap_mode="fresh",
    )
    sel["metadata"] = meta(
        "ConfigMap", sel["metadata"]["name"], "alga-system", created=5000, labels=sel["metadata"]["labels"]
    )
    out = [sel]
    for hr in sorted(HELM_RELEASES):
        out.append(
            configmap(
                f"appliance-values-{hr}",
                "alga-system",
                {"values.yaml": f"# values for {hr} (rendered by bootstrap; abridged in this fixture)\n"},
                labels={
                    "app.kubernetes.io/part-of": "alga-appliance",
                    "appliance.alga-psa.io/helm-release": hr,
                    "appliance.alga-psa.io/release-version": RELEASE,
                },
            )
        )
    return out


def release_facts(checks: dict[str, tuple[str, str | None]] | None = None) -> Obj:
    """releaseFacts: the release images and the preflight outcome per image."""
    release = json.loads((REPO / "releases" / RELEASE / "release.json").read_text())
    images = release["images"]
    facts_checks = []
    for key in sorted(images):
        ref = f"{images[key]['repository']}:{images[key]['tag']}"
        outcome, error = (checks or {}).get(key, ("present", None))
        facts_checks.append(
            {
                "component": key,
                "image": ref,
                "outcome": outcome,
                "digest": digest(ref) if outcome == "present" else None,
                "error": error,
            }
        )
    return {"images": images, "imageChecks": facts_checks}


# --- the healthy world ------------------------------------------------------------------------


class World:
    """All resources of one appliance, by snapshot key; scenarios edit it."""

    def __init__(self) -> None:
        self.res: dict[str, list[Obj]] = {k: [] for k in RESOURCE_KEYS}
        self.logs: dict[str, list[str]] = {}

    def add(self, key: str, *objs: Obj) -> None:
        self.res[key].extend(objs)

    def remove(self, key: str, name: str, namespace: str | None = None) -> None:
        self.res[key] = [
            o
            for o in self.res[key]
            if not (
                o["metadata"]["name"] == name
                and (namespace is None or o["metadata"].get("namespace") == namespace)
            )
        ]

    def replace(self, key: str, obj: Obj) -> None:
        self.remove(key, obj["metadata"]["name"], obj["metadata"].get("namespace"))
        self.add(key, obj)

    def remove_component_pods(self, comp: Comp) -> None:
        prefix = comp.workload + "-"
        self.res[KEY_PODS] = [
            p
            for p in self.res[KEY_PODS]
            if not (
                p["metadata"]["namespace"] == comp.namespace
                and p["metadata"]["name"].startswith(prefix)
                and p["metadata"]["labels"].get("app.kubernetes.io/name") == comp.name
            )
        ]


def healthy_pod(comp: Comp, *, age: float) -> Obj:
    return pod(comp, CS(running(age - 20), ready=True), created=age)


def healthy_world(*, with_background: bool = True) -> World:
    w = World()
    w.add(KEY_NODES, node())
    w.add(KEY_CMS, *configmaps())
    w.add(KEY_GITREPO, git_repository("alga-appliance"), git_repository("alga-psa-charts"))
    w.add(
        KEY_KS, kustomization("alga-platform"), kustomization("alga-core"), kustomization("alga-background")
    )
    ages = {
        "appliance-status": 5000,
        "db": 3000,
        "redis": 3000,
        "pgbouncer": 2990,
        "alga-core": 2980,
        "temporal": 1500,
        "temporal-ui": 1500,
        "email-service": 1480,
        "workflow-worker": 1480,
        "temporal-worker": 1470,
    }
    for name, comp in COMPS.items():
        if not with_background and name in BACKGROUND_COMPS:
            continue
        age = ages[name]
        if comp.kind == "StatefulSet":
            w.add(KEY_STS, statefulset(comp, created=age + 5))
            w.add(KEY_PVCS, pvc(f"{comp.workload}-data-{comp.workload}-0", created=age + 5))
        else:
            w.add(KEY_DEPLOY, deployment(comp, created=age + 5))
        w.add(KEY_PODS, healthy_pod(comp, age=age))
    for hr, (tier, _c, _p) in HELM_RELEASES.items():
        if not with_background and tier == "alga-background":
            continue
        w.add(KEY_HR, helm_release(hr, created=3010 if tier == "alga-core" else 1510))
    # bootstrap Job finished ~28 minutes ago; its pod is kept until the TTL deletes the Job
    w.add(KEY_JOBS, job(state="complete", created=2600, finished=1700))
    w.add(KEY_PODS, job_pod(CS(terminated("Completed", 0, 2590, 1702, "job")), created=2598, incarnation=""))
    # a few Normal events, as a real cluster has them
    core_pod = next(
        p
        for p in w.res[KEY_PODS]
        if p["metadata"]["name"].startswith("alga-core-sebastian-")
        and not p["metadata"]["name"].startswith(BOOTSTRAP_JOB)
    )
    img = COMPS["alga-core"].image
    w.add(
        KEY_EVENTS,
        event(
            core_pod,
            "Pulled",
            f'Successfully pulled image "{img}" in 6m51.212s (6m51.212s including '
            "waiting). Image size: 1843298156 bytes.",
            type="Normal",
            first=2560,
            field_path=cfp(COMPS["alga-core"]),
        ),
        event(
            core_pod,
            "Started",
            "Started container web",
            type="Normal",
            first=2558,
            field_path=cfp(COMPS["alga-core"]),
        ),
        flux_event(
            w.res[KEY_HR][0],
            "InstallSucceeded",
            "Helm install succeeded for release msp/alga-core.v1 with chart sebastian@0.1.0",
            type="Normal",
            first=2500,
        ),
    )
    return w


def probes_ok(seed: int | None = 7) -> Obj:
    return {
        "login": {"url": APP_URL + "/", "statusCode": 307, "location": "/msp/dashboard", "error": None},
        "seedUsers": {"count": seed, "error": None, "source": "exec"},
    }


def snapshot_doc(
    w: World,
    *,
    probes: Obj,
    facts: Obj | None = None,
    reach: Obj | None = None,
    requests: int = 12,
    seconds: float = 0.21,
    unavailable: dict[str, str] | None = None,
) -> Obj:
    resources: Obj = {}
    for key in RESOURCE_KEYS:
        items = sorted(w.res[key], key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        resources[key] = resource_list(key, items, rv("list", key, str(len(items))))
    return {
        "apiVersion": "appliance.alga-psa.io/v1alpha1",
        "kind": "ClusterSnapshot",
        "collectedAt": ts(0),
        "collection": {"apiRequests": requests, "seconds": seconds, "unavailable": unavailable or {}},
        "site": {
            "siteId": SITE_ID,
            "nodeIp": NODE_IP,
            "appUrl": APP_URL,
            "statusUrl": STATUS_URL,
            "releaseVersion": RELEASE,
        },
        "reachability": reach
        or {
            "kubernetes": {"reachable": True, "error": None},
            "talos": {"checked": True, "reachable": True, "error": None},
        },
        "resources": resources,
        "podLogs": dict(sorted(w.logs.items())),
        "probes": probes,
        "releaseFacts": facts if facts is not None else release_facts(),
    }


def find(w: World, key: str, prefix: str) -> Obj:
    return next(o for o in w.res[key] if o["metadata"]["name"].startswith(prefix))


def log_key(p: Obj, container: str) -> str:
    return f"{p['metadata']['namespace']}/{p['metadata']['name']}/{container}"


# --- situations: each edits a World (an empty one for object fixtures, a healthy one for snapshots)


def put_workload(w: World, comp: Comp, *, ready: bool, created: float = 1000, **kw: Any) -> None:
    if comp.kind == "StatefulSet":
        w.replace(KEY_STS, statefulset(comp, ready=1 if ready else 0, created=created))
    else:
        w.replace(
            KEY_DEPLOY, deployment(comp, ready=1 if ready else 0, available=ready, created=created, **kw)
        )


def pull_failing(
    w: World,
    comp: Comp,
    rpc_error: str,
    *,
    image: str | None = None,
    age: float = 900,
    incarnation: str = "",
    backoff: bool = True,
) -> Obj:
    """A pod whose image pull keeps failing: ImagePullBackOff (or ErrImagePull) plus the kubelet events."""
    image = image or comp.image
    state = waiting("ImagePullBackOff", backoff_msg(image)) if backoff else waiting("ErrImagePull", rpc_error)
    p = pod(comp, CS(state, image_pulled=False, image=image), created=age, incarnation=incarnation)
    w.remove_component_pods(comp)
    w.add(KEY_PODS, p)
    put_workload(
        w, comp, ready=False, created=age + 5, image=image
    ) if comp.kind == "Deployment" else put_workload(w, comp, ready=False, created=age + 5)
    w.add(
        KEY_EVENTS,
        *pull_failure_events(
            p,
            comp,
            image,
            rpc_error,
            first=age - 5,
            last=15,
            attempts=6 if backoff else 1,
            backoffs=61,
            with_backoff=backoff,
        ),
    )
    return p


def pulling(w: World, comp: Comp, *, elapsed: float, age: float | None = None) -> Obj:
    """A pull in progress: ContainerCreating, one Normal Pulling event, nothing failed."""
    age = age if age is not None else elapsed + 4
    p = pod(comp, CS(waiting("ContainerCreating"), image_pulled=False), created=age)
    w.remove_component_pods(comp)
    w.add(KEY_PODS, p)
    put_workload(w, comp, ready=False, created=age + 2)
    sched = event(
        p,
        "Scheduled",
        f"Successfully assigned {comp.namespace}/{p['metadata']['name']} to {NODE}",
        type="Normal",
        first=age - 1,
        component="default-scheduler",
    )
    sched["source"] = {"component": "default-scheduler"}
    sched["reportingInstance"] = f"default-scheduler-{NODE}"
    w.add(
        KEY_EVENTS,
        sched,
        event(
            p, "Pulling", f'Pulling image "{comp.image}"', type="Normal", first=elapsed, field_path=cfp(comp)
        ),
    )
    return p


def crash_looping(
    w: World,
    comp: Comp,
    *,
    log: list[str],
    reason: str = "Error",
    exit_code: int = 1,
    restarts: int = 7,
    age: float = 1300,
    backoff: str = "5m0s",
) -> Obj:
    pname = pod_name(comp)
    puid = uid("Pod", comp.namespace, pname, "")
    state = waiting(
        "CrashLoopBackOff",
        f"back-off {backoff} restarting failed container={comp.container} pod={pname}_{comp.namespace}"
        f"({puid})",
    )
    last = terminated(reason, exit_code, 75, 72, comp.name)
    p = pod(comp, CS(state, restarts=restarts, last=last), created=age)
    w.remove_component_pods(comp)
    w.add(KEY_PODS, p)
    put_workload(w, comp, ready=False, created=age + 5)
    fp = cfp(comp)
    w.add(
        KEY_EVENTS,
        event(
            p,
            "Pulled",
            f'Container image "{comp.image}" already present on machine',
            type="Normal",
            count=restarts + 1,
            first=age - 30,
            last=76,
            field_path=fp,
        ),
        event(
            p,
            "Created",
            f"Created container {comp.container}",
            type="Normal",
            count=restarts + 1,
            first=age - 30,
            last=76,
            field_path=fp,
        ),
        event(
            p,
            "Started",
            f"Started container {comp.container}",
            type="Normal",
            count=restarts + 1,
            first=age - 30,
            last=75,
            field_path=fp,
        ),
        event(
            p,
            "BackOff",
            f"Back-off restarting failed container {comp.container} in pod {pname}_{comp.namespace}({puid})",
            count=restarts * 9,
            first=age - 60,
            last=8,
            field_path=fp,
        ),
    )
    w.logs[log_key(p, comp.container)] = log
    return p


def config_error(w: World, comp: Comp, message: str, *, age: float = 1200) -> Obj:
    """CreateContainerConfigError: the waiting message and the kubelet's `Error: ...` Failed event."""
    p = pod(comp, CS(waiting("CreateContainerConfigError", message)), created=age)
    w.remove_component_pods(comp)
    w.add(KEY_PODS, p)
    put_workload(w, comp, ready=False, created=age + 5)
    fp = cfp(comp)
    w.add(
        KEY_EVENTS,
        event(
            p,
            "Pulled",
            f'Container image "{comp.image}" already present on machine',
            type="Normal",
            count=97,
            first=age - 10,
            last=20,
            field_path=fp,
        ),
        event(p, "Failed", f"Error: {message}", count=97, first=age - 10, last=20, field_path=fp),
    )
    return p


SUBPATH_MSG = 'failed to create subPath directory for volumeMount "db-data" of container "postgres"'
SECRET_MSG = 'secret "alga-core-secrets" not found'

TEMPORAL_SCHEMA_LOG = [
    "2026/04/30 02:06:54 Loading config; env=docker,zone=,configDir=config",
    "2026/04/30 02:06:54 Loading config files=[config/docker.yaml]",
    '{"level":"info","ts":"2026-04-30T02:06:54.712Z","msg":"Build info.","server-version":"1.24.2",'
    '"logging-call-at":"main.go:148"}',
    '{"level":"error","ts":"2026-04-30T02:06:55.901Z","msg":"Unable to refresh database connection pool",'
    '"error":"dial tcp 10.104.211.37:5432: connect: connection refused","logging-call-at":"handle.go:121"}',
    "sql schema version compatibility check failed: unable to read DB schema version keyspace/database: "
    "temporal error: no usable database connection found",
    'Unable to create server. Error: could not build arguments for function "go.uber.org/fx".(*module)'
    ".constructCustomLogger.func2 (/home/runner/go/pkg/mod/go.uber.org/fx@v1.22.1/module.go:292): failed to "
    'build fxevent.Logger: could not build arguments for function "go.temporal.io/server/temporal".init.func8 '  # noqa: E501
    "(/home/runner/work/docker-builds/docker-builds/temporal/temporal/fx.go:1029): failed to build log.Logger: "  # noqa: E501
    'received non-nil error from function "go.temporal.io/server/temporal".ServerOptionsProvider '
    "(/home/runner/work/docker-builds/docker-builds/temporal/temporal/fx.go:182): sql schema version "
    "compatibility check failed: unable to read DB schema version keyspace/database: temporal error: "
    "no usable database connection found.",
]
TEMPORAL_SCHEMA_LOG_RELATION = [
    "2026/04/30 02:06:54 Loading config; env=docker,zone=,configDir=config",
    "2026/04/30 02:06:54 Loading config files=[config/docker.yaml]",
    "sql schema version compatibility check failed: unable to read DB schema version keyspace/database: "
    'temporal_visibility error: pq: relation "schema_version" does not exist',
    "Unable to create server. Error: sql schema version compatibility check failed: unable to read DB schema "
    'version keyspace/database: temporal_visibility error: pq: relation "schema_version" does not exist.',
]
TEMPORAL_OK_LOG = [
    "2026/04/30 01:44:02 Schema setup complete",
    "2026/04/30 01:44:03 UpdateSchemeTask done",
    '{"level":"info","ts":"2026-04-30T01:44:09.118Z","msg":"temporal-sys-tq-scanner-workflow workflow '
    'successfully started","service":"worker","logging-call-at":"scanner.go:292"}',
]
SERVICE_LINK_LOG = [
    "2026/04/30 02:06:58 Loading config; env=docker,configDir=config",
    "2026/04/30 02:06:58 Loading config files=[config/docker.yaml]",
    "config file corrupted: yaml: unmarshal errors:",
    "  line 2: cannot unmarshal !!str `tcp://1...` into int",
]
OOM_LOG = [
    "2026-04-30T02:06:41.322Z info  temporal-worker: polling task queue alga-jobs",
    "2026-04-30T02:06:49.870Z info  temporal-worker: running workflow invoiceBatch (412 invoices)",
    "<--- Last few GCs --->",
    "[1:0x6b3c2e0]    61018 ms: Mark-Compact 1004.7 (1032.2) -> 1001.3 (1034.0) MB, 812.11 / 0.00 ms  "
    "(average mu = 0.171, current mu = 0.032) allocation failure; scavenge might not succeed",
]
GENERIC_CRASH_LOG = [
    "2026-04-30T02:06:52.004Z info  email-service: starting (version 61e4a00e)",
    "2026-04-30T02:06:52.311Z error email-service: Error: EMAIL_PROVIDER_CONFIG is not valid JSON: "
    "Unexpected token } in JSON at position 87",
    "    at loadProviderConfig (/app/dist/config.js:41:15)",
    "    at main (/app/dist/index.js:12:3)",
]
MIGRATION_LOG = [
    "[bootstrap] waiting for postgres at db:5432 ... ok",
    "[bootstrap] running migrations (knex, server/migrations)",
    "Batch 1 run: 212 migrations",
    'migration file "20260412093015_add_tenant_to_tax_regions.cjs" failed',
    'migration failed with error: alter table "tax_regions" add column "tenant" uuid not null - column "tenant" '  # noqa: E501
    'of relation "tax_regions" already exists',
    'error: alter table "tax_regions" add column "tenant" uuid not null - column "tenant" of relation '
    '"tax_regions" already exists',
    "    at Parser.parseErrorMessage (/app/node_modules/pg-protocol/dist/parser.js:283:98)",
    "[bootstrap] migrations failed; exiting 1",
]


def bootstrap_failed(w: World, *, age: float = 1400) -> Obj:
    j = job(state="failed", created=age, finished=age - 420)
    w.replace(KEY_JOBS, j)
    w.res[KEY_PODS] = [p for p in w.res[KEY_PODS] if not p["metadata"]["name"].startswith(BOOTSTRAP_JOB)]
    pods = []
    for i, (start, end) in enumerate(((age - 5, age - 190), (age - 205, age - 415))):
        cs = CS(terminated("Error", 1, start, end, f"try{i}"), restarts=0)
        pods.append(job_pod(cs, created=start + 2, incarnation=f"try{i}"))
    w.add(KEY_PODS, *pods)
    w.logs[log_key(pods[-1], "bootstrap")] = MIGRATION_LOG
    w.add(
        KEY_EVENTS,
        event(
            j,
            "SuccessfulCreate",
            f"Created pod: {pods[0]['metadata']['name']}",
            type="Normal",
            first=age - 3,
            component="job-controller",
        ),
        event(
            j,
            "SuccessfulCreate",
            f"Created pod: {pods[1]['metadata']['name']}",
            type="Normal",
            first=age - 203,
            component="job-controller",
        ),
        event(
            j,
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
            first=age - 420,
            component="job-controller",
        ),
    )
    return j


GIT_DNS_MSG = (
    "failed to checkout and determine revision: unable to clone "
    f"'{APP_REPO}': dial tcp: lookup github.com on {CLUSTER_DNS}:53: server misbehaving"
)
GIT_DNS_REFUSED_MSG = (
    "failed to checkout and determine revision: unable to clone "
    f"'{APPLIANCE_REPO}': Get \"{APPLIANCE_REPO}/info/refs?service=git-upload-pack\": dial tcp: lookup "
    f"github.com on {CLUSTER_DNS}:53: read udp 10.244.0.7:43521->{CLUSTER_DNS}:53: read: connection refused"
)
GIT_AUTH_MSG = (
    f"failed to checkout and determine revision: unable to clone '{APP_REPO}': authentication required"
)


def source_failing(w: World, name: str, message: str) -> Obj:
    g = git_repository(name, ready=False, failure=message)
    w.replace(KEY_GITREPO, g)
    w.add(KEY_EVENTS, flux_event(g, "GitOperationFailed", message, first=4990, last=40, count=87))
    return g


def helm_timeout(
    w: World,
    hr: str = "alga-core",
    *,
    created: float = 2100,
    remediated: bool = False,
    message: str | None = None,
) -> Obj:
    h = helm_release(hr, state="install-failed", created=created, remediated=remediated, message=message)
    w.replace(KEY_HR, h)
    conds = {c["type"]: c for c in h["status"]["conditions"]}
    at = (
        COLLECTED
        - datetime.strptime(conds["Ready"]["lastTransitionTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    ).total_seconds()
    w.add(KEY_EVENTS, flux_event(h, "InstallFailed", conds["Ready"]["message"], first=at))
    if remediated:
        w.add(
            KEY_EVENTS,
            flux_event(h, "UninstallSucceeded", conds["Remediated"]["message"], type="Normal", first=at - 2),
        )
    return h


def kustomization_health_failed(w: World, name: str, hr: str, hr_state: str = "Failed") -> Obj:
    msg = (
        f"health check failed after 30m0.021387s: timeout waiting for: [HelmRelease/alga-system/{hr} "
        f"status: '{hr_state}']"
    )
    k = kustomization(name, state="failed-health", message=msg, created=2150)
    w.replace(KEY_KS, k)
    w.add(KEY_EVENTS, flux_event(k, "HealthCheckFailed", msg, first=340))
    return k


# --- object fixtures -------------------------------------------------------------------------


@dataclass
class Fixture:
    code: str
    name: str  # positive-<variant> | negative-<variant>
    description: str
    world: World
    codes: list[str]
    component: str | None
    absent: list[str]
    probes: Obj | None = None
    reachability: Obj | None = None
    facts: Obj | None = None
    stale_events: list[str] | None = None
    notes: str | None = None

    def document(self) -> Obj:
        doc: Obj = {
            "description": self.description,
            "collectedAt": ts(0),
            "resources": {
                k: sorted(
                    self.world.res[k],
                    key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]),
                )
                for k in RESOURCE_KEYS
            },
            "podLogs": dict(sorted(self.world.logs.items())),
            "probes": self.probes or {"login": None, "seedUsers": None},
            "expect": {"codes": self.codes, "component": self.component, "absent": self.absent},
        }
        if self.reachability:
            doc["reachability"] = self.reachability
        if self.facts:
            doc["releaseFacts"] = self.facts
        if self.stale_events:
            doc["staleEvents"] = sorted(self.stale_events)
        if self.notes:
            doc["notes"] = self.notes
        return doc


def base(*, node_ready: bool = True) -> World:
    w = World()
    w.add(KEY_NODES, node(ready=node_ready))
    return w


def event_names(evs: Iterable[Obj]) -> list[str]:
    return [e["metadata"]["name"] for e in evs]


REACH_OK = {
    "kubernetes": {"reachable": True, "error": None},
    "talos": {"checked": True, "reachable": True, "error": None},
}
KUBE_DOWN_ERR = (
    f'Get "https://{NODE_IP}:6443/api/v1/nodes?limit=500": dial tcp {NODE_IP}:6443: '
    "connect: connection refused"
)
TALOS_DOWN_ERR = (
    'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while '
    f'dialing: dial tcp {NODE_IP}:50000: connect: connection refused"'
)


@dataclass
class FixtureSet:
    """The object fixtures of one blocker code: positives must yield it, negatives must not."""

    code: str
    fixtures: list[Fixture] = field(default_factory=list)

    def positive(
        self,
        variant: str,
        description: str,
        world: World,
        component: str,
        *,
        codes: list[str] | None = None,
        absent: list[str] | None = None,
        **extra: Any,
    ) -> None:
        self.fixtures.append(
            Fixture(
                self.code,
                f"positive-{variant}",
                description,
                world,
                codes if codes is not None else [self.code],
                component,
                absent or [],
                **extra,
            )
        )

    def negative(
        self, variant: str, description: str, world: World, *, absent: list[str] | None = None, **extra: Any
    ) -> None:
        self.fixtures.append(
            Fixture(
                self.code,
                f"negative-{variant}",
                description,
                world,
                [],
                None,
                absent if absent is not None else [self.code],
                **extra,
            )
        )


FIXTURE_SETS: list[tuple[str, Callable[[FixtureSet], None]]] = []
SCENARIOS: list[Callable[[], Iterator[Scenario]]] = []


def object_fixtures(code: str) -> Callable[[Callable[[FixtureSet], None]], Callable[[FixtureSet], None]]:
    """Register a function that adds fixtures of blocker ``code``."""

    def register(fn: Callable[[FixtureSet], None]) -> Callable[[FixtureSet], None]:
        FIXTURE_SETS.append((code, fn))
        return fn

    return register


def snapshot_scenario(fn: Callable[[], Iterator[Scenario]]) -> Callable[[], Iterator[Scenario]]:
    """Register a function that yields whole-appliance snapshot scenarios."""
    SCENARIOS.append(fn)
    return fn


def fixtures() -> list[Fixture]:
    out: list[Fixture] = []
    for code, fn in FIXTURE_SETS:
        fs = FixtureSet(code)
        fn(fs)
        out.extend(fs.fixtures)
    return out


def scenarios() -> list[Scenario]:
    return [sc for fn in SCENARIOS for sc in fn()]


@object_fixtures("kubernetes_api_unreachable")
def kubernetes_api_unreachable(fx: FixtureSet) -> None:
    fx.positive(
        "connection-refused",
        "The API server refuses connections; nothing could be listed; Talos answers.",
        World(),
        "kubernetes",
        reachability={
            "kubernetes": {"reachable": False, "error": KUBE_DOWN_ERR},
            "talos": {"checked": True, "reachable": True, "error": None},
        },
    )
    fx.negative("reachable", "The API answers and the node is Ready.", base(), reachability=REACH_OK)

    fx.positive(
        "io-timeout",
        "The node does not answer on 6443 at all (powered off or wrong IP): i/o timeout.",
        World(),
        "kubernetes",
        reachability={
            "kubernetes": {
                "reachable": False,
                "error": f'Get "https://{NODE_IP}:6443/api/v1/nodes?limit=500": dial tcp {NODE_IP}:6443: '
                "i/o timeout",
            },
            "talos": {
                "checked": True,
                "reachable": False,
                "error": 'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while '  # noqa: E501
                f'dialing: dial tcp {NODE_IP}:50000: i/o timeout"',
            },
        },
    )


@object_fixtures("talos_api_unreachable")
def talos_api_unreachable(fx: FixtureSet) -> None:
    fx.positive(
        "apid-refused",
        "Kubernetes is healthy but the Talos API (apid, port 50000) refuses connections.",
        base(),
        "talos",
        absent=["kubernetes_api_unreachable", "node_not_ready"],
        reachability={
            "kubernetes": {"reachable": True, "error": None},
            "talos": {"checked": True, "reachable": False, "error": TALOS_DOWN_ERR},
        },
        notes="Talos trouble alone must not unset PLATFORM_READY (DESIGN §5).",
    )
    fx.negative(
        "not-checked",
        "The in-cluster status service does not check Talos (no talosconfig): not a blocker.",
        base(),
        reachability={
            "kubernetes": {"reachable": True, "error": None},
            "talos": {"checked": False, "reachable": None, "error": None},
        },
    )


@object_fixtures("node_not_ready")
def node_not_ready(fx: FixtureSet) -> None:
    w = base(node_ready=False)
    n = w.res[KEY_NODES][0]
    w.add(
        KEY_EVENTS,
        event(
            n,
            "NodeNotReady",
            f"Node {NODE} status is now: NodeNotReady",
            type="Normal",
            first=300,
            component="node-controller",
        ),
    )
    fx.positive(
        "cni-not-initialized",
        "Node Ready=False (KubeletNotReady): container runtime network not ready, CNI not initialized.",
        w,
        "node",
    )
    w = base()
    n = w.res[KEY_NODES][0]
    w.add(
        KEY_EVENTS,
        event(
            n,
            "NodeNotReady",
            f"Node {NODE} status is now: NodeNotReady",
            type="Normal",
            first=5300,
            component="node-controller",
        ),
        event(
            n,
            "NodeReady",
            f"Node {NODE} status is now: NodeReady",
            type="Normal",
            first=5290,
            component="kubelet",
        ),
    )
    fx.negative("recovered", "The node was NotReady during boot and is Ready now.", w)

    w = base()
    n = w.res[KEY_NODES][0]
    for c in n["status"]["conditions"]:
        c.update(
            {
                "status": "Unknown",
                "reason": "NodeStatusUnknown",
                "message": "Kubelet stopped posting node status.",
                "lastTransitionTime": ts(240),
                "lastHeartbeatTime": ts(300),
            }
        )
    n["spec"]["taints"] = [
        {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": ts(240)},
        {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": ts(235)},
    ]
    w.add(
        KEY_EVENTS,
        event(
            n,
            "NodeNotReady",
            f"Node {NODE} status is now: NodeNotReady",
            type="Normal",
            first=240,
            component="node-controller",
        ),
    )
    fx.positive(
        "kubelet-stopped-posting",
        "The kubelet stopped posting status (node lifecycle controller sets Ready=Unknown, "
        "NodeStatusUnknown).",
        w,
        "node",
    )


@object_fixtures("dns_resolution_failed")
def dns_resolution_failed(fx: FixtureSet) -> None:
    w = base()
    w.add(KEY_GITREPO, git_repository("alga-appliance"))
    source_failing(w, "alga-psa-charts", GIT_DNS_MSG)
    fx.positive(
        "gitrepository-server-misbehaving",
        "source-controller cannot resolve github.com through CoreDNS (server misbehaving).",
        w,
        "dns",
    )
    w = base()
    w.add(KEY_GITREPO, git_repository("alga-psa-charts"))
    source_failing(w, "alga-appliance", GIT_DNS_REFUSED_MSG)
    fx.positive(
        "gitrepository-refused",
        "go-git clone fails: the DNS query to CoreDNS is refused (read udp ... connection refused).",
        w,
        "dns",
    )
    w = base()
    img = COMPS["email-service"].image
    pull_failing(
        w,
        COMPS["email-service"],
        (
            f'rpc error: code = Unknown desc = failed to pull and unpack image "{img}": failed to resolve reference '  # noqa: E501
            f'"{img}": failed to do request: Head "https://ghcr.io/v2/nine-minds/email-service/manifests/61e4a00e": '  # noqa: E501
            "dial tcp: lookup ghcr.io on 127.0.0.53:53: server misbehaving"
        ),
    )
    fx.positive(
        "image-pull-lookup",
        "containerd cannot resolve ghcr.io through the Talos host DNS; the pod is in ImagePullBackOff.",
        w,
        "dns",
        absent=["image_tag_not_found", "image_pull_auth_failed"],
        notes="The pull fails because of DNS; the DNS cause ranks above the pull symptom.",
    )
    w = base()
    g = git_repository("alga-psa-charts")
    w.add(KEY_GITREPO, git_repository("alga-appliance"), g)
    w.add(
        KEY_EVENTS,
        flux_event(g, "GitOperationFailed", GIT_DNS_MSG, first=4990, last=4400, count=9),
        flux_event(
            g, "NewArtifact", "stored artifact for commit 'Release 1.0-rc5'", type="Normal", first=4380
        ),
    )
    fx.negative(
        "recovered",
        "An old GitOperationFailed (DNS) event; the GitRepository is Ready now.",
        w,
        absent=["dns_resolution_failed", "flux_source_failed"],
    )


@object_fixtures("flux_source_failed")
def flux_source_failed(fx: FixtureSet) -> None:
    w = base()
    w.add(KEY_GITREPO, git_repository("alga-appliance"))
    source_failing(w, "alga-psa-charts", GIT_AUTH_MSG)
    fx.positive(
        "authentication-required",
        "The charts GitRepository cannot clone: authentication required (not DNS).",
        w,
        "flux-source",
        absent=["dns_resolution_failed"],
    )
    w = base()
    g = git_repository("alga-psa-charts")
    g["status"] = {
        "observedGeneration": -1,
        "conditions": [
            cond(
                "Reconciling",
                "True",
                "Progressing",
                f"building artifact: new upstream revision '{CHARTS_REV}'",
                when=20,
            ),
            cond(
                "Ready",
                "Unknown",
                "Progressing",
                f"building artifact: new upstream revision '{CHARTS_REV}'",
                when=20,
            ),
        ],
    }
    w.add(KEY_GITREPO, git_repository("alga-appliance"), g)
    fx.negative(
        "first-clone-in-progress",
        "The GitRepository is still cloning for the first time (Reconciling, Ready=Unknown).",
        w,
        absent=["flux_source_failed", "dns_resolution_failed"],
    )


@object_fixtures("storage_pvc_subpath_failed")
def storage_pvc_subpath_failed(fx: FixtureSet) -> None:
    w = base()
    w.add(KEY_PVCS, pvc("db-data-db-0", created=1210))
    config_error(w, COMPS["db"], SUBPATH_MSG)
    fx.positive(
        "db-data",
        "db-0 is in CreateContainerConfigError: the kubelet cannot create the subPath directory on the PVC.",
        w,
        "db",
        absent=["container_config_error"],
    )
    w = base()
    w.add(KEY_PVCS, pvc("db-data-db-0", created=3000))
    w.add(KEY_STS, statefulset(COMPS["db"], created=3000))
    old = pod(
        COMPS["db"], CS(waiting("CreateContainerConfigError", SUBPATH_MSG)), created=2900, incarnation="old"
    )
    new = pod(COMPS["db"], CS(running(580), ready=True), created=600, incarnation="new")
    stale = [
        event(
            old,
            "Failed",
            f"Error: {SUBPATH_MSG}",
            count=60,
            first=2890,
            last=610,
            field_path=cfp(COMPS["db"]),
        )
    ]
    w.add(KEY_PODS, new)
    w.add(KEY_EVENTS, *stale)
    fx.negative(
        "pod-recreated",
        "db-0 was deleted after the subPath was repaired; the new db-0 (new uid) runs. The Failed events "
        "belong to the old incarnation.",
        w,
        absent=["storage_pvc_subpath_failed", "container_config_error"],
        stale_events=event_names(stale),
    )


@object_fixtures("pvc_pending")
def pvc_pending(fx: FixtureSet) -> None:
    w = base()
    claim = pvc("db-data-db-0", bound=False, created=900)
    w.add(KEY_PVCS, claim)
    w.add(KEY_STS, statefulset(COMPS["db"], ready=0, created=905))
    w.add(
        KEY_PODS,
        pod(
            COMPS["db"],
            CS(waiting("ContainerCreating"), image_pulled=False),
            created=900,
            scheduled=False,
            scheduled_reason="SchedulerError",
            unschedulable_msg='running PreBind plugin "VolumeBinding": binding volumes: provisioning '
            'failed for PVC "db-data-db-0"',
        ),
    )
    pv = "pvc-" + claim["metadata"]["uid"]
    w.add(
        KEY_EVENTS,
        event(
            claim,
            "WaitForFirstConsumer",
            "waiting for first consumer to be created before binding",
            type="Normal",
            first=899,
            component="persistentvolume-controller",
        ),
        event(
            claim,
            "ExternalProvisioning",
            "Waiting for a volume to be created either by the external "
            "provisioner 'rancher.io/local-path' or manually by the system administrator. If volume creation "
            "is delayed, please verify that the provisioner is running and correctly registered.",
            type="Normal",
            count=52,
            first=898,
            last=10,
            component="persistentvolume-controller",
        ),
        event(
            claim,
            "Provisioning",
            'External provisioner is provisioning volume for claim "msp/db-data-db-0"',
            type="Normal",
            count=4,
            first=898,
            last=300,
            component="rancher.io/local-path_local-path-provisioner-7f8c9d5b6-q8z2n_" + uid("lpp", NODE),
        ),
        event(
            claim,
            "ProvisioningFailed",
            'failed to provision volume with StorageClass "local-path": '
            f"failed to create volume {pv}: create process timeout after 120 seconds",
            count=4,
            first=778,
            last=180,
            component="rancher.io/local-path_local-path-provisioner-7f8c9d5b6-q8z2n_" + uid("lpp", NODE),
        ),
    )
    fx.positive(
        "provisioning-failed",
        "db-data-db-0 stays Pending: local-path-provisioner's helper pod times out (ProvisioningFailed).",
        w,
        "db",
        absent=["unschedulable"],
    )
    w = base()
    claim = pvc("db-data-db-0", bound=False, created=30, selected_node=False)
    w.add(KEY_PVCS, claim)
    w.add(
        KEY_EVENTS,
        event(
            claim,
            "WaitForFirstConsumer",
            "waiting for first consumer to be created before binding",
            type="Normal",
            count=3,
            first=30,
            last=5,
            component="persistentvolume-controller",
        ),
    )
    fx.negative(
        "wait-for-first-consumer",
        "A local-path PVC waits for its first consumer (Normal WaitForFirstConsumer): waiting, not failing.",
        w,
    )


@object_fixtures("unschedulable")
def unschedulable(fx: FixtureSet) -> None:
    w = base()
    p = pod(
        COMPS["alga-core"],
        CS(waiting("ContainerCreating"), image_pulled=False),
        created=700,
        scheduled=False,
        unschedulable_msg="0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are "
        "available: 1 No preemption victims found for incoming pod.",
    )
    w.add(KEY_PODS, p)
    w.add(KEY_DEPLOY, deployment(COMPS["alga-core"], ready=0, available=False, created=705))
    w.add(
        KEY_EVENTS,
        scheduler_event(
            p,
            "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes "
            "are available: 1 No preemption victims found for incoming pod.",
            first=699,
            last=40,
            count=12,
        ),
    )
    fx.positive(
        "insufficient-memory",
        "alga-core cannot be scheduled: 1 Insufficient memory (FailedScheduling, events.k8s.io recorder: "
        "eventTime + series, no first/lastTimestamp).",
        w,
        "alga-core",
    )
    w = base()
    p = pod(COMPS["alga-core"], CS(running(1200), ready=True), created=2400)
    w.add(KEY_PODS, p)
    w.add(KEY_DEPLOY, deployment(COMPS["alga-core"], created=2405))
    w.add(
        KEY_EVENTS,
        scheduler_event(
            p,
            "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes "
            "are available: 1 No preemption victims found for incoming pod.",
            first=2399,
            last=1300,
            count=5,
        ),
    )
    fx.negative(
        "scheduled-later",
        "The same pod failed scheduling earlier, then memory freed up; it runs and is Ready now.",
        w,
    )


@object_fixtures("image_tag_not_found")
def image_tag_not_found(fx: FixtureSet) -> None:
    w = base()
    pull_failing(w, COMPS["workflow-worker"], not_found_error(COMPS["workflow-worker"].image))
    fx.positive(
        "background-backoff",
        "workflow-worker: ImagePullBackOff (waiting message only 'Back-off pulling image'); the NotFound cause "  # noqa: E501
        "is in the pod's Failed events.",
        w,
        "workflow-worker",
        absent=["image_pull_auth_failed", "image_pull_interrupted"],
    )
    w = base()
    pull_failing(w, COMPS["alga-core"], not_found_error(COMPS["alga-core"].image), age=40, backoff=False)
    fx.positive(
        "core-errimagepull",
        "alga-core: first pull attempt just failed (waiting reason ErrImagePull, message is the rpc error).",
        w,
        "alga-core",
        absent=["image_pull_auth_failed"],
    )
    w = base()
    p = pull_failing(w, COMPS["workflow-worker"], not_found_error(COMPS["workflow-worker"].image))
    p["status"]["containerStatuses"][0]["state"]["waiting"]["message"] = (
        backoff_msg(COMPS["workflow-worker"].image)
        + ": ErrImagePull: "
        + not_found_error(COMPS["workflow-worker"].image)
    )
    fx.positive(
        "k8s132-backoff-message",
        "Kubernetes >= 1.32 (kubernetes/kubernetes#127918) appends the last pull error to the back-off "
        "message; same cause, found in the live state.",
        w,
        "workflow-worker",
    )
    w = base()
    comp = COMPS["workflow-worker"]
    old = pod(
        comp,
        CS(waiting("ImagePullBackOff", backoff_msg(comp.image)), image_pulled=False),
        created=3000,
        incarnation="old",
    )
    stale = pull_failure_events(
        old, comp, comp.image, not_found_error(comp.image), first=2995, last=1900, attempts=9, backoffs=40
    )
    w.add(KEY_PODS, pod(comp, CS(running(1700), ready=True), created=1720, incarnation="new"))
    w.add(KEY_DEPLOY, deployment(comp, created=3005))
    w.add(KEY_EVENTS, *stale)
    fx.negative(
        "pod-replaced",
        "The tag was published and the pod replaced (new uid, running); the NotFound events belong to the "
        "deleted pod.",
        w,
        stale_events=event_names(stale),
    )
    w = base()
    p = pod(comp, CS(running(300), ready=True), created=2000)
    w.add(KEY_PODS, p)
    w.add(KEY_DEPLOY, deployment(comp, created=2005))
    w.add(
        KEY_EVENTS,
        *pull_failure_events(
            p, comp, comp.image, not_found_error(comp.image), first=1995, last=700, attempts=8, backoffs=30
        ),
        event(
            p,
            "Pulled",
            f'Successfully pulled image "{comp.image}" in 41.305s (41.305s including waiting). '
            "Image size: 471859200 bytes.",
            type="Normal",
            first=320,
            field_path=cfp(comp),
        ),
        event(
            p,
            "Started",
            f"Started container {comp.container}",
            type="Normal",
            first=300,
            field_path=cfp(comp),
        ),
    )
    fx.negative(
        "same-pod-recovered",
        "Same pod (same uid): NotFound events from before the tag was pushed, then Pulled/Started; "
        "it runs now.",
        w,
    )

    w = base()
    pulling(w, COMPS["alga-core"], elapsed=412)
    fx.negative(
        "pull-in-progress",
        "alga-core has been pulling its ~1.8 GB image for 412 s (ContainerCreating, one Normal Pulling event): "  # noqa: E501
        "an active operation, not a blocker.",
        w,
        absent=[
            "image_tag_not_found",
            "image_pull_interrupted",
            "image_pull_auth_failed",
            "workload_not_ready",
        ],
    )


@object_fixtures("image_pull_auth_failed")
def image_pull_auth_failed(fx: FixtureSet) -> None:
    w = base()
    pull_failing(w, COMPS["alga-core"], unauthorized_error(COMPS["alga-core"].image))
    fx.positive(
        "401-anonymous-token",
        "ghcr.io refuses an anonymous token for a private package (401 Unauthorized).",
        w,
        "alga-core",
        absent=["image_tag_not_found"],
    )
    w = base()
    pull_failing(w, COMPS["email-service"], forbidden_error(COMPS["email-service"].image))
    fx.positive(
        "403-forbidden",
        "ghcr.io answers the manifest HEAD with 403 Forbidden.",
        w,
        "email-service",
        absent=["image_tag_not_found"],
    )
    w = base()
    comp = COMPS["alga-core"]
    p = pod(comp, CS(running(200), ready=True), created=1500)
    w.add(KEY_PODS, p)
    w.add(KEY_DEPLOY, deployment(comp, created=1505))
    w.add(
        KEY_EVENTS,
        *pull_failure_events(
            p, comp, comp.image, unauthorized_error(comp.image), first=1495, last=900, attempts=5, backoffs=20
        ),
    )
    fx.negative(
        "recovered", "401 events from before the pull secret was fixed; the same pod pulled and runs now.", w
    )


@object_fixtures("image_pull_interrupted")
def image_pull_interrupted(fx: FixtureSet) -> None:
    img = COMPS["alga-core"].image
    for variant, err in (
        (
            "unexpected-eof",
            f'rpc error: code = Unknown desc = failed to pull and unpack image "{img}": '
            "failed to read expected number of bytes: unexpected EOF",
        ),
        (
            "connection-reset",
            f'rpc error: code = Unknown desc = failed to pull and unpack image "{img}": '
            "failed to copy: read tcp 192.168.64.8:51734->140.82.113.34:443: read: connection "
            "reset by peer",
        ),
        (
            "context-canceled",
            f'rpc error: code = Canceled desc = failed to pull and unpack image "{img}": context canceled',
        ),
    ):
        w = base()
        pull_failing(w, COMPS["alga-core"], err, age=1300)
        fx.positive(
            variant,
            f"The ~1.8 GB alga-core pull is interrupted ({variant.replace('-', ' ')}); "
            "the kubelet backs off.",
            w,
            "alga-core",
            absent=["image_tag_not_found", "image_pull_auth_failed"],
        )
    w = base()
    comp = COMPS["alga-core"]
    p = pod(comp, CS(running(60), ready=True), created=1500)
    w.add(KEY_PODS, p)
    w.add(KEY_DEPLOY, deployment(comp, created=1505))
    w.add(
        KEY_EVENTS,
        event(
            p,
            "Failed",
            f'Failed to pull image "{img}": rpc error: code = Unknown desc = failed to pull and '
            f'unpack image "{img}": failed to read expected number of bytes: unexpected EOF',
            first=1100,
            field_path=cfp(comp),
        ),
        event(p, "Failed", "Error: ErrImagePull", first=1100, field_path=cfp(comp)),
        event(
            p,
            "Pulling",
            f'Pulling image "{img}"',
            type="Normal",
            count=2,
            first=1495,
            last=1080,
            field_path=cfp(comp),
        ),
        event(
            p,
            "Pulled",
            f'Successfully pulled image "{img}" in 16m12.044s (16m12.044s including waiting). '
            "Image size: 1843298156 bytes.",
            type="Normal",
            first=90,
            field_path=cfp(comp),
        ),
    )
    fx.negative(
        "retried-and-pulled", "One interrupted pull, then the retry pulled the image; the pod runs.", w
    )


@object_fixtures("container_config_error")
def container_config_error(fx: FixtureSet) -> None:
    w = base()
    config_error(w, COMPS["alga-core"], SECRET_MSG)
    fx.positive(
        "secret-not-found",
        'alga-core: CreateContainerConfigError, secret "alga-core-secrets" not found.',
        w,
        "alga-core",
        absent=["storage_pvc_subpath_failed"],
    )
    w = base()
    config_error(
        w, COMPS["email-service"], "couldn't find key SMTP_PASSWORD in Secret msp/email-service-secrets"
    )
    fx.positive(
        "missing-key",
        "email-service: a secretKeyRef names a key the Secret does not have.",
        w,
        "email-service",
    )
    w = base()
    comp = COMPS["alga-core"]
    p = pod(comp, CS(running(400), ready=True), created=1300)
    w.add(KEY_PODS, p)
    w.add(KEY_DEPLOY, deployment(comp, created=1305))
    w.add(
        KEY_EVENTS,
        event(p, "Failed", f"Error: {SECRET_MSG}", count=30, first=1290, last=420, field_path=cfp(comp)),
    )
    fx.negative("secret-created", "The Secret was created later; the same pod started and is Ready.", w)


@object_fixtures("bootstrap_job_failed")
def bootstrap_job_failed(fx: FixtureSet) -> None:
    w = base()
    bootstrap_failed(w)
    fx.positive(
        "migration-error",
        "Bootstrap Job Failed (BackoffLimitExceeded); the last pod's log tail shows the failing migration.",
        w,
        "alga-core",
        absent=["seed_data_missing", "crash_loop"],
    )
    w = base()
    w.add(KEY_JOBS, job(state="running", created=120))
    jp = job_pod(CS(running(100)), created=118, incarnation="")
    w.add(KEY_PODS, jp)
    w.logs[log_key(jp, "bootstrap")] = [
        "[bootstrap] waiting for postgres at db:5432 ... ok",
        "[bootstrap] running migrations (knex, server/migrations)",
        "Batch 1 run: 212 migrations",
    ]
    fx.negative(
        "still-running",
        "The bootstrap Job is still running migrations: waiting, not failing.",
        w,
        absent=["bootstrap_job_failed", "seed_data_missing"],
        probes={
            "login": None,
            "seedUsers": {
                "count": None,
                "error": 'ERROR:  relation "users" does not exist',
                "source": "exec",
            },
        },
    )
    w = base()
    w.add(KEY_JOBS, job(state="complete", created=2600, finished=1700))
    fx.negative(
        "complete",
        "The bootstrap Job completed.",
        w,
        probes={"login": None, "seedUsers": {"count": 7, "error": None, "source": "exec"}},
    )


def core_ready(w: World) -> None:
    """alga-core runs and its HelmRelease is Ready."""
    w.add(KEY_PODS, healthy_pod(COMPS["alga-core"], age=2400))
    w.add(KEY_DEPLOY, deployment(COMPS["alga-core"], created=2405))
    w.add(KEY_HR, helm_release("alga-core", created=3000))


@object_fixtures("seed_data_missing")
def seed_data_missing(fx: FixtureSet) -> None:
    w = base()
    core_ready(w)
    w.add(KEY_JOBS, job(state="complete", created=2600, finished=1700))
    fx.positive(
        "zero-users",
        "The bootstrap Job completed but server.users is empty (seed count 0).",
        w,
        "alga-core",
        absent=["bootstrap_job_failed"],
        probes=probes_ok(seed=0),
    )
    w = base()
    core_ready(w)
    fx.negative(
        "job-deleted-seed-published",
        "The chart deleted the finished Job; the HelmRelease is Ready and bootstrap published 7 users.",
        w,
        absent=["seed_data_missing", "bootstrap_job_failed"],
        probes={
            "login": probes_ok()["login"],
            "seedUsers": {"count": 7, "error": None, "source": "published"},
        },
    )


@object_fixtures("temporal_schema_uninitialized")
def temporal_schema_uninitialized(fx: FixtureSet) -> None:
    for variant, log in (
        ("no-usable-connection", TEMPORAL_SCHEMA_LOG),
        ("schema-version-relation-missing", TEMPORAL_SCHEMA_LOG_RELATION),
    ):
        w = base()
        crash_looping(w, COMPS["temporal"], log=log)
        fx.positive(
            variant,
            "temporal (auto-setup) crash-loops; the log tail shows the sql schema version compatibility check "  # noqa: E501
            "failing.",
            w,
            "temporal",
        )
    w = base()
    p = healthy_pod(COMPS["temporal"], age=1500)
    w.add(KEY_PODS, p)
    w.add(KEY_DEPLOY, deployment(COMPS["temporal"], created=1505))
    w.logs[log_key(p, "temporal")] = TEMPORAL_OK_LOG
    fx.negative("schema-set-up", "auto-setup created the schema; temporal runs.", w)


@object_fixtures("service_link_collision")
def service_link_collision(fx: FixtureSet) -> None:
    w = base()
    crash_looping(w, COMPS["temporal-ui"], log=SERVICE_LINK_LOG)
    fx.positive(
        "temporal-ui-port",
        "Service temporal-ui injects TEMPORAL_UI_PORT=tcp://10.x.x.x:8080 (enableServiceLinks); the UI's config "  # noqa: E501
        "template renders it into `port:` and the YAML decode fails (go-yaml shortens the value to `tcp://1...`).",
        w,
        "temporal-ui",
    )
    w = base()
    p = pod(
        COMPS["temporal-ui"],
        CS(running(1480), ready=True),
        created=1500,
        extra_spec={"enableServiceLinks": False},
    )
    w.add(KEY_PODS, p)
    w.add(KEY_DEPLOY, deployment(COMPS["temporal-ui"], created=1505))
    fx.negative("service-links-disabled", "enableServiceLinks: false; temporal-ui runs.", w)


@object_fixtures("oom_killed")
def oom_killed(fx: FixtureSet) -> None:
    w = base()
    crash_looping(w, COMPS["temporal-worker"], log=OOM_LOG, reason="OOMKilled", exit_code=137, restarts=5)
    fx.positive(
        "temporal-worker",
        "temporal-worker is OOMKilled (lastState.terminated reason OOMKilled, exit 137) and crash-loops.",
        w,
        "temporal-worker",
    )
    w = base()
    comp = COMPS["temporal-worker"]
    p = pod(
        comp,
        CS(running(2400), ready=True, restarts=1, last=terminated("OOMKilled", 137, 2900, 2410, "x")),
        created=3000,
    )
    w.add(KEY_PODS, p)
    w.add(KEY_DEPLOY, deployment(comp, created=3005))
    fx.negative(
        "one-old-oom",
        "One OOMKill 40 minutes ago (after a limit change the container runs steadily since).",
        w,
        absent=["oom_killed", "crash_loop"],
    )


@object_fixtures("crash_loop")
def crash_loop(fx: FixtureSet) -> None:
    w = base()
    crash_looping(w, COMPS["email-service"], log=GENERIC_CRASH_LOG)
    fx.positive(
        "generic",
        "email-service crash-loops with an application error that no specific rule knows.",
        w,
        "email-service",
        absent=["oom_killed", "temporal_schema_uninitialized", "service_link_collision"],
    )
    w = base()
    comp = COMPS["email-service"]
    w.add(
        KEY_PODS,
        pod(
            comp,
            CS(running(1300), ready=True, restarts=1, last=terminated("Error", 1, 1400, 1310, "y")),
            created=1450,
        ),
    )
    w.add(KEY_DEPLOY, deployment(comp, created=1455))
    fx.negative("restarted-once", "One restart long ago (db not up yet); running and Ready since.", w)


@object_fixtures("login_probe_failed")
def login_probe_failed(fx: FixtureSet) -> None:
    w = base()
    core_ready(w)
    w.add(KEY_JOBS, job(state="complete", created=2600, finished=1700))
    fx.positive(
        "http-500",
        "The web workload is Ready but GET / answers 500.",
        w,
        "alga-core",
        probes={
            "login": {"url": APP_URL + "/", "statusCode": 500, "location": None, "error": None},
            "seedUsers": {"count": 7, "error": None, "source": "exec"},
        },
    )
    w = base()
    comp = COMPS["alga-core"]
    p = pod(comp, CS(running(25), ready=False), created=40)
    w.add(KEY_PODS, p)
    w.add(KEY_DEPLOY, deployment(comp, ready=0, available=False, created=45))
    w.add(
        KEY_EVENTS,
        event(
            p,
            "Unhealthy",
            f'Readiness probe failed: Get "http://{p["status"]["podIP"]}:3000/'
            'api/healthz": dial tcp ' + p["status"]["podIP"] + ":3000: connect: connection refused",
            count=3,
            first=20,
            last=5,
            field_path=cfp(comp),
        ),
    )
    fx.negative(
        "web-starting",
        "The web pod is still starting (not Ready); a refused login probe is expected, not a blocker.",
        w,
        probes={
            "login": {
                "url": APP_URL + "/",
                "statusCode": None,
                "location": None,
                "error": f"dial tcp {NODE_IP}:3000: connect: connection refused",
            },
            "seedUsers": {"count": 7, "error": None, "source": "exec"},
        },
    )
    w = base()
    core_ready(w)
    w.add(KEY_JOBS, job(state="complete", created=2600, finished=1700))
    fx.negative("redirect-to-dashboard", "GET / answers 307 to /msp/dashboard.", w, probes=probes_ok())

    w = base()
    core_ready(w)
    w.add(KEY_JOBS, job(state="complete", created=2600, finished=1700))
    fx.positive(
        "redirect-to-localhost",
        "The web workload is Ready but redirects to http://localhost:3000 (app URL misconfigured): the browser "  # noqa: E501
        "of the admin cannot follow it.",
        w,
        "alga-core",
        probes={
            "login": {
                "url": APP_URL + "/",
                "statusCode": 307,
                "location": "http://localhost:3000/auth/signin?callbackUrl=%2Fmsp%2Fdashboard",
                "error": None,
            },
            "seedUsers": {"count": 7, "error": None, "source": "exec"},
        },
    )


@object_fixtures("release_image_drift")
def release_image_drift(fx: FixtureSet) -> None:
    old_img = "ghcr.io/nine-minds/alga-psa-ee:94446747"
    w = base()
    comp = COMPS["alga-core"]
    w.add(KEY_PODS, pod(comp, CS(running(4000), ready=True, image=old_img), created=4020, image=old_img))
    w.add(KEY_DEPLOY, deployment(comp, created=4025, image=old_img))
    fx.positive(
        "old-tag-running",
        "The release pins alga-psa-ee:a2cbb430 but the Deployment still runs :94446747.",
        w,
        "alga-core",
        facts=release_facts(),
    )
    w = base()
    repushed = "sha256:" + hexdigest("repushed", comp.image)
    p = healthy_pod(comp, age=4000)
    p["status"]["containerStatuses"][0]["imageID"] = f"{comp.repository}@{repushed}"
    w.add(KEY_PODS, p)
    w.add(KEY_DEPLOY, deployment(comp, created=4005))
    fx.positive(
        "tag-repushed",
        "Same tag, but the running image digest differs from the digest the preflight resolved "
        "(tag re-pushed).",
        w,
        "alga-core",
        facts=release_facts(),
    )
    w = base()
    w.add(KEY_PODS, healthy_pod(comp, age=4000))
    w.add(KEY_DEPLOY, deployment(comp, created=4005))
    fx.negative("matches-release", "Running tag and digest match the release.", w, facts=release_facts())


@object_fixtures("kustomization_failed")
def kustomization_failed(fx: FixtureSet) -> None:
    w = base()
    msg = (
        "HelmRelease/alga-system/email-service dry-run failed: failed to create typed patch object "
        "(alga-system/email-service; helm.toolkit.fluxcd.io/v2, Kind=HelmRelease): "
        ".spec.install.remediation.retry: field not declared in schema"
    )
    k = kustomization("alga-background", state="failed-reconcile", message=msg)
    w.add(KEY_KS, kustomization("alga-platform"), kustomization("alga-core"), k)
    w.add(KEY_EVENTS, flux_event(k, "ReconciliationFailed", msg, first=600, last=30, count=10))
    fx.positive(
        "reconciliation-failed",
        "alga-background cannot be applied: server-side dry-run rejects a HelmRelease.",
        w,
        "alga-background",
    )
    w = base()
    w.add(KEY_KS, kustomization("alga-platform"), kustomization("alga-core"))
    kustomization_health_failed(w, "alga-background", "email-service")
    helm_timeout(w, "email-service", created=1500)
    fx.positive(
        "health-check-failed",
        "alga-background applied but its health check timed out on a failed HelmRelease.",
        w,
        "alga-background",
        codes=["kustomization_failed", "helmrelease_failed"],
        notes="Both generic codes apply; DESIGN §6 lists kustomization_failed before helmrelease_failed.",
    )
    w = base()
    msg = (
        "kustomization path not found: stat /tmp/kustomization-1893726451/flux/base/background: "
        "no such file or directory"
    )
    k = kustomization("alga-background", state="artifact")
    k["status"]["conditions"] = [cond("Ready", "False", "ArtifactFailed", msg, when=100)]
    k["status"]["observedGeneration"] = 1
    w.add(KEY_KS, kustomization("alga-platform"), kustomization("alga-core"), k)
    w.add(KEY_EVENTS, flux_event(k, "ArtifactFailed", msg, first=100, last=20, count=4))
    fx.positive(
        "path-not-found",
        "The appliance branch has no flux/base/background (wrong --branch-override): path not found.",
        w,
        "alga-background",
    )
    w = base()
    w.add(
        KEY_KS,
        kustomization("alga-platform"),
        kustomization("alga-core", state="progressing"),
        kustomization("alga-background", state="dependency"),
    )
    fx.negative(
        "dependency-not-ready",
        "alga-background waits for alga-core (DependencyNotReady) while alga-core is still progressing.",
        w,
    )


@object_fixtures("helmrelease_failed")
def helmrelease_failed(fx: FixtureSet) -> None:
    w = base()
    helm_timeout(w, remediated=True)
    w.add(KEY_PODS, healthy_pod(COMPS["db"], age=2200))
    w.add(KEY_STS, statefulset(COMPS["db"], created=2205))
    fx.positive(
        "install-context-deadline",
        "alga-core HelmRelease InstallFailed: context deadline exceeded (remediated by uninstall), with no "
        "more specific cause among the objects.",
        w,
        "alga-core",
    )
    w = base()
    h = helm_release("alga-core", state="installing", created=300)
    w.add(KEY_HR, h)
    w.add(
        KEY_EVENTS,
        flux_event(
            h, "Progressing", "Running 'install' action with timeout of 30m0s", type="Normal", first=295
        ),
    )
    fx.negative("installing", "The alga-core install is running (Reconciling).", w)
    w = base()
    w.add(KEY_HR, helm_release("alga-core", created=3000))
    fx.negative("ready", "InstallSucceeded; Ready.", w)


@object_fixtures("workload_not_ready")
def workload_not_ready(fx: FixtureSet) -> None:
    w = base()
    comp = COMPS["email-service"]
    rs = f"{comp.workload}-{rs_hash(comp)}"
    p = pod(comp, CS(running(1190), ready=False), created=1200)
    w.add(KEY_PODS, p)
    w.add(
        KEY_DEPLOY,
        deployment(
            comp,
            ready=0,
            available=False,
            created=1205,
            progressing=(
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{rs}" has timed out progressing.',
            ),
        ),
    )
    w.add(
        KEY_EVENTS,
        event(
            p,
            "Unhealthy",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
            count=118,
            first=1180,
            last=6,
            field_path=cfp(comp),
        ),
    )
    fx.positive(
        "progress-deadline",
        "email-service runs but never becomes Ready (readiness 503); the Deployment exceeded its progress "
        "deadline.",
        w,
        "email-service",
        absent=["crash_loop"],
    )
    w = base()
    p = pod(comp, CS(running(25), ready=False), created=30)
    w.add(KEY_PODS, p)
    w.add(KEY_DEPLOY, deployment(comp, ready=0, available=False, created=35))
    fx.negative(
        "rolling-out",
        "email-service was created 30 s ago and is starting (Progressing=True, ReplicaSetUpdated).",
        w,
    )


# --- snapshot scenarios ------------------------------------------------------------------------


def prune_orphan_events(w: World) -> None:
    """Drop events whose involved object no longer exists (scenarios replace objects)."""
    live = {o["metadata"]["uid"] for k in RESOURCE_KEYS if k != KEY_EVENTS for o in w.res[k]}
    w.res[KEY_EVENTS] = [e for e in w.res[KEY_EVENTS] if e["involvedObject"].get("uid") in live]


def drop_bootstrap(w: World) -> None:
    w.res[KEY_JOBS] = []
    w.res[KEY_PODS] = [p for p in w.res[KEY_PODS] if not p["metadata"]["name"].startswith(BOOTSTRAP_JOB)]


def drop_component(w: World, name: str) -> None:
    comp = COMPS[name]
    w.remove_component_pods(comp)
    w.remove(KEY_DEPLOY if comp.kind == "Deployment" else KEY_STS, comp.workload, comp.namespace)


def core_installing(w: World) -> None:
    """alga-core's HelmRelease install is running; background waits for core."""
    drop_bootstrap(w)
    w.replace(KEY_HR, helm_release("alga-core", state="installing", created=1300))
    w.replace(KEY_KS, kustomization("alga-core", state="progressing", created=1320))
    w.replace(KEY_KS, kustomization("alga-background", state="dependency", created=1320))


PROBES_WEB_DOWN = {
    "login": {
        "url": APP_URL + "/",
        "statusCode": None,
        "location": None,
        "error": f"dial tcp {NODE_IP}:3000: connect: connection refused",
    },
    "seedUsers": {"count": None, "error": 'ERROR:  relation "users" does not exist', "source": "exec"},
}


@dataclass
class Scenario:
    name: str
    description: str
    doc: Obj
    rollup: str
    top: str | None
    component: str | None
    stale_events: list[str] | None = None
    extra: Obj | None = None


@snapshot_scenario
def healthy_snapshot() -> Iterator[Scenario]:
    w = healthy_world()
    yield (
        Scenario(
            "healthy",
            "Every catalog component runs; Flux Ready; bootstrap Job Complete; login 307 "
            "to /msp/dashboard; 7 seed users.",
            snapshot_doc(w, probes=probes_ok()),
            "fully_healthy",
            None,
            None,
        )
    )


@snapshot_scenario
def missing_background_tag_snapshot() -> Iterator[Scenario]:
    w = healthy_world()
    pull_failing(w, COMPS["workflow-worker"], not_found_error(COMPS["workflow-worker"].image), age=1470)
    helm_timeout(w, "workflow-worker", created=1510)
    w.replace(KEY_KS, kustomization("alga-background", state="progressing", created=1520))
    prune_orphan_events(w)
    facts = release_facts(
        {"workflow-worker": ("missing", "ghcr.io/nine-minds/workflow-worker:61e4a00e: manifest unknown")}
    )
    yield (
        Scenario(
            "missing-background-tag",
            "Core and login are fine; workflow-worker:61e4a00e does not exist (ImagePullBackOff, "
            "NotFound in its events); its HelmRelease timed out.",
            snapshot_doc(w, probes=probes_ok(), facts=facts),
            "ready_with_background_issues",
            "image_tag_not_found",
            "workflow-worker",
        )
    )


@snapshot_scenario
def core_image_pulling_snapshot() -> Iterator[Scenario]:
    w = healthy_world(with_background=False)
    core_installing(w)
    pulling(w, COMPS["alga-core"], elapsed=412)
    prune_orphan_events(w)
    yield (
        Scenario(
            "core-image-pulling",
            "The ~1.8 GB alga-psa-ee image has been pulling for 412 s; the install waits.",
            snapshot_doc(w, probes=PROBES_WEB_DOWN),
            "installing",
            None,
            None,
            extra={
                "activeOperation": {
                    "component": "alga-core",
                    "operation": "pulling_image",
                    "image": COMPS["alga-core"].image,
                    "elapsedSeconds": 412,
                    "estimatedSize": "~1.8 GB",
                }
            },
        )
    )


@snapshot_scenario
def core_image_missing_snapshot() -> Iterator[Scenario]:
    w = healthy_world(with_background=False)
    core_installing(w)
    pull_failing(w, COMPS["alga-core"], not_found_error(COMPS["alga-core"].image), age=1290)
    prune_orphan_events(w)
    facts = release_facts(
        {"alga-core": ("missing", "ghcr.io/nine-minds/alga-psa-ee:a2cbb430: manifest unknown")}
    )
    yield (
        Scenario(
            "core-image-missing",
            "The release's alga-psa-ee:a2cbb430 tag does not exist.",
            snapshot_doc(w, probes=PROBES_WEB_DOWN, facts=facts),
            "failed_action_required",
            "image_tag_not_found",
            "alga-core",
        )
    )


@snapshot_scenario
def db_subpath_helm_timeout_snapshot() -> Iterator[Scenario]:
    w = healthy_world(with_background=False)
    drop_bootstrap(w)
    config_error(w, COMPS["db"], SUBPATH_MSG, age=2200)
    web = pod(COMPS["alga-core"], CS(running(2150), ready=False), created=2190)
    w.remove_component_pods(COMPS["alga-core"])
    w.add(KEY_PODS, web)
    put_workload(w, COMPS["alga-core"], ready=False, created=2195)
    w.add(
        KEY_EVENTS,
        event(
            web,
            "Unhealthy",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
            count=214,
            first=2140,
            last=9,
            field_path=cfp(COMPS["alga-core"]),
        ),
    )
    w.logs[log_key(web, "web")] = [
        "2026-04-30T02:07:58.114Z error [db] connect ECONNREFUSED 10.104.211.37:5432",
        "2026-04-30T02:08:03.120Z error [db] connect ECONNREFUSED 10.104.211.37:5432",
    ]
    helm_timeout(w, "alga-core", created=2100)
    kustomization_health_failed(w, "alga-core", "alga-core")
    w.replace(KEY_KS, kustomization("alga-background", state="dependency", created=2150))
    prune_orphan_events(w)
    probes = {
        "login": {"url": APP_URL + "/", "statusCode": 500, "location": None, "error": None},
        "seedUsers": {
            "count": None,
            "error": 'connection to server at "db" (10.104.211.37), port 5432 failed: Connection refused',
            "source": "exec",
        },
    }
    yield (
        Scenario(
            "db-subpath-helm-timeout",
            "db-0 cannot start (subPath directory on the PVC); alga-core's Helm install then times "
            "out with context deadline exceeded. The db failure is the root cause.",
            snapshot_doc(w, probes=probes),
            "failed_action_required",
            "storage_pvc_subpath_failed",
            "db",
            extra={"blockerOrder": ["storage_pvc_subpath_failed", "helmrelease_failed"]},
        )
    )


@snapshot_scenario
def bootstrap_job_failed_snapshot() -> Iterator[Scenario]:
    w = healthy_world(with_background=False)
    drop_bootstrap(w)
    bootstrap_failed(w, age=1400)
    helm_timeout(
        w,
        "alga-core",
        created=1500,
        message=(
            "Helm install failed for release msp/alga-core with chart sebastian@0.1.0: failed post-install: "
            f"1 error occurred:\n\t* job {BOOTSTRAP_JOB} failed: BackoffLimitExceeded"
        ),
    )
    kustomization_health_failed(w, "alga-core", "alga-core")
    w.replace(KEY_KS, kustomization("alga-background", state="dependency", created=1520))
    prune_orphan_events(w)
    yield (
        Scenario(
            "bootstrap-job-failed",
            "Migrations fail in the bootstrap Job (BackoffLimitExceeded); no users are seeded.",
            snapshot_doc(w, probes=probes_ok(seed=0)),
            "failed_action_required",
            "bootstrap_job_failed",
            "alga-core",
        )
    )


@snapshot_scenario
def kube_unreachable_talos_ok_snapshot() -> Iterator[Scenario]:
    doc = snapshot_doc(
        World(),
        probes={
            "login": {
                "url": APP_URL + "/",
                "statusCode": None,
                "location": None,
                "error": f"dial tcp {NODE_IP}:3000: connect: connection refused",
            },
            "seedUsers": {"count": None, "error": "Kubernetes API unreachable", "source": "none"},
        },
        reach={
            "kubernetes": {"reachable": False, "error": KUBE_DOWN_ERR},
            "talos": {"checked": True, "reachable": True, "error": None},
        },
        requests=1,
        seconds=0.02,
    )
    doc["resources"] = {}
    yield (
        Scenario(
            "kube-unreachable-talos-ok",
            "The Kubernetes API refuses connections; Talos answers; nothing could be listed.",
            doc,
            "failed_action_required",
            "kubernetes_api_unreachable",
            "kubernetes",
        )
    )


@snapshot_scenario
def stale_events_snapshot() -> Iterator[Scenario]:
    w = healthy_world()
    comp = COMPS["workflow-worker"]
    old = pod(
        comp,
        CS(waiting("ImagePullBackOff", backoff_msg(comp.image)), image_pulled=False),
        created=3400,
        incarnation="replaced",
    )
    stale = pull_failure_events(
        old, comp, comp.image, not_found_error(comp.image), first=3395, last=1520, attempts=9, backoffs=44
    )
    comp = COMPS["email-service"]
    live = find(w, KEY_PODS, "email-service-")
    live["status"]["containerStatuses"][0].update(
        {"restartCount": 2, "lastState": terminated("Error", 1, 1440, 1420, "es"), "state": running(1410)}
    )
    recovered = [
        event(
            live,
            "Failed",
            f'Failed to pull image "{comp.image}": rpc error: code = Unknown desc = failed to '
            f'pull and unpack image "{comp.image}": failed to read expected number of bytes: unexpected EOF',
            first=1478,
            field_path=cfp(comp),
        ),
        event(
            live,
            "BackOff",
            f"Back-off restarting failed container {comp.container} in pod "
            f"{live['metadata']['name']}_msp({live['metadata']['uid']})",
            count=3,
            first=1450,
            last=1425,
            field_path=cfp(comp),
        ),
    ]
    w.add(KEY_EVENTS, *stale, *recovered)
    yield (
        Scenario(
            "stale-events",
            "Fully healthy, but old Warning events remain: NotFound/BackOff for a workflow-worker pod "
            "that was replaced (different uid), and a failed pull + restart BackOff for the "
            "email-service pod that has recovered.",
            snapshot_doc(w, probes=probes_ok()),
            "fully_healthy",
            None,
            None,
            stale_events=event_names(stale),
        )
    )


@snapshot_scenario
def dns_refused_snapshot() -> Iterator[Scenario]:
    w = World()
    w.add(KEY_NODES, node())
    w.add(KEY_CMS, *configmaps())
    source_failing(w, "alga-appliance", GIT_DNS_REFUSED_MSG)
    source_failing(w, "alga-psa-charts", GIT_DNS_REFUSED_MSG.replace(APPLIANCE_REPO, APP_REPO))
    w.add(
        KEY_KS,
        kustomization("alga-platform", state="artifact"),
        kustomization("alga-core", state="dependency"),
        kustomization("alga-background", state="dependency"),
    )
    yield (
        Scenario(
            "dns-refused",
            "CoreDNS refuses queries: source-controller cannot clone either repository, nothing is deployed.",
            snapshot_doc(
                w,
                probes=PROBES_WEB_DOWN
                | {"seedUsers": {"count": None, "error": "no db pod", "source": "none"}},
            ),
            "failed_action_required",
            "dns_resolution_failed",
            "dns",
        )
    )


@snapshot_scenario
def temporal_autosetup_snapshot() -> Iterator[Scenario]:
    w = healthy_world()
    crash_looping(w, COMPS["temporal"], log=TEMPORAL_SCHEMA_LOG, age=1500)
    helm_timeout(w, "temporal", created=1510)
    drop_component(w, "temporal-worker")
    w.replace(KEY_HR, helm_release("temporal-worker", state="dependency", created=1510))
    kustomization_health_failed(w, "alga-background", "temporal")
    prune_orphan_events(w)
    yield (
        Scenario(
            "temporal-autosetup",
            "Temporal auto-setup crash-loops on the schema check; login is unaffected.",
            snapshot_doc(w, probes=probes_ok()),
            "ready_with_background_issues",
            "temporal_schema_uninitialized",
            "temporal",
        )
    )


@snapshot_scenario
def service_links_snapshot() -> Iterator[Scenario]:
    w = healthy_world()
    crash_looping(w, COMPS["temporal-ui"], log=SERVICE_LINK_LOG, age=1500)
    helm_timeout(w, "temporal", created=1510)
    kustomization_health_failed(w, "alga-background", "temporal")
    prune_orphan_events(w)
    yield (
        Scenario(
            "service-links",
            "temporal-ui crash-loops: the temporal-ui Service's link variable TEMPORAL_UI_PORT "
            "collides with the UI's own port setting.",
            snapshot_doc(w, probes=probes_ok()),
            "ready_with_background_issues",
            "service_link_collision",
            "temporal-ui",
        )
    )


@snapshot_scenario
def oom_snapshot() -> Iterator[Scenario]:
    w = healthy_world()
    crash_looping(
        w, COMPS["temporal-worker"], log=OOM_LOG, reason="OOMKilled", exit_code=137, restarts=6, age=1470
    )
    prune_orphan_events(w)
    yield (
        Scenario(
            "oom",
            "temporal-worker is OOMKilled in a loop; oom_killed outranks crash_loop.",
            snapshot_doc(w, probes=probes_ok()),
            "ready_with_background_issues",
            "oom_killed",
            "temporal-worker",
        )
    )


@snapshot_scenario
def kustomization_waiting_snapshot() -> Iterator[Scenario]:
    w = healthy_world(with_background=False)
    core_installing(w)
    comp = COMPS["alga-core"]
    web = pod(comp, CS(running(18), ready=False), created=440)
    w.remove_component_pods(comp)
    w.add(KEY_PODS, web)
    put_workload(w, comp, ready=False, created=445)
    w.add(
        KEY_EVENTS,
        event(
            web,
            "Pulled",
            f'Successfully pulled image "{comp.image}" in 6m58.481s (6m58.481s including '
            "waiting). Image size: 1843298156 bytes.",
            type="Normal",
            first=20,
            field_path=cfp(comp),
        ),
        event(web, "Started", "Started container web", type="Normal", first=18, field_path=cfp(comp)),
    )
    prune_orphan_events(w)
    yield (
        Scenario(
            "kustomization-waiting",
            "alga-background is held by DependencyNotReady while alga-core installs (web container "
            "just started, not Ready yet): installing, nothing is wrong.",
            snapshot_doc(w, probes=PROBES_WEB_DOWN),
            "installing",
            None,
            None,
        )
    )


# --- round 2: pods of the past, node pressure, mounts, rate limits, Flux controllers --------------
#
# Wordings (see tests/fixtures/README.md, "Round 2"):
#   evicted pod: status.phase Failed, reason Evicted, message "The node was low on resource:
#     ephemeral-storage. Threshold quantity: N, available: MKi. …" (kubelet eviction manager;
#     verbatim in kubernetes/kubernetes#122932, cloud-ark/kubeplus#1382), condition DisruptionTarget
#     reason TerminationByKubelet (PodDisruptionConditions, GA in 1.31)
#   node shutdown: reason Terminated "Pod was terminated in response to imminent node shutdown." /
#     reason NodeShutdown "Pod was rejected as the node is shutting down." (kubelet
#     nodeshutdown manager, ≥ 1.21)
#   node pressure: DiskPressure True KubeletHasDiskPressure "kubelet has disk pressure" (kubelet
#     setters.go), taint node.kubernetes.io/disk-pressure:NoSchedule, node events
#     "Node X status is now: NodeHasDiskPressure", EvictionThresholdMet "Attempting to reclaim
#     ephemeral-storage" (eviction_manager.go), FailedScheduling "0/1 nodes are available: 1 node(s)
#     had untolerated taint {node.kubernetes.io/disk-pressure: }. preemption: …"
#   mount: FailedMount "MountVolume.NewMounter initialization failed for volume "pvc-…" : path
#     "/var/local-path-provisioner/pvc-…_<ns>_<claim>" does not exist" (siderolabs/talos#9003,
#     openebs/openebs#2767) and "Unable to attach or mount volumes: unmounted volumes=[…],
#     unattached volumes=[…]: timed out waiting for the condition"
#   429: containerd "failed to copy: httpReadSeeker: failed open: unexpected status code
#     https://registry-1.docker.io/v2/<repo>/manifests/sha256:…: 429 Too Many Requests - Server
#     message: toomanyrequests: You have reached your pull rate limit. …" (kata-containers#10109,
#     containerd/containerd#5357)

EVICTED_MSG = (
    "The node was low on resource: ephemeral-storage. Threshold quantity: 4902142413, available: "
    "4515852Ki. Container {c} was using 1183704Ki, request is 0, has larger consumption of "
    "ephemeral-storage."
)
EVICTED_MEMORY_MSG = (
    "The node was low on resource: memory. Threshold quantity: 100Mi, available: 84212Ki. "
    "Container {c} was using 1811032Ki, request is 1Gi, has larger consumption of memory."
)
SHUTDOWN_MSG = "Pod was terminated in response to imminent node shutdown."
SHUTDOWN_REJECTED_MSG = "Pod was rejected as the node is shutting down."
TAINT_PENDING_MSG = (
    "0/1 nodes are available: 1 node(s) had untolerated taint {{node.kubernetes.io/{kind}-pressure: }}. "
    "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
)
PV_NAME = "pvc-" + uid("PersistentVolume", "db-data-db-0")
LOCAL_PATH_MISSING = (
    f'MountVolume.NewMounter initialization failed for volume "{PV_NAME}" : path '
    f'"/var/local-path-provisioner/{PV_NAME}_msp_db-data-db-0" does not exist'
)
MOUNT_TIMEOUT = (
    "Unable to attach or mount volumes: unmounted volumes=[db-data], unattached volumes=[db-data "
    "kube-api-access]: timed out waiting for the condition"
)


COREDNS_CRASH_LOG = [
    "[INFO] plugin/reload: Running configuration SHA512 = "
    "591cf328cccc12bc490481273e738df59329c62c0b729d94e8b61db9961c2fa5",
    "plugin/forward: no nameservers found",
]
FLUX_OOM_LOG = [
    '{"level":"info","ts":"2026-04-30T02:06:40.118Z","msg":"All dependencies are ready, proceeding '
    'with reconciliation","controller":"kustomization","name":"alga-core"}',
    '{"level":"info","ts":"2026-04-30T02:06:41.902Z","msg":"building kustomization",'
    '"controller":"kustomization","name":"alga-core"}',
]


def past_pod(
    w: World,
    comp: Comp,
    *,
    how: str,
    age: float,
    ended: float,
    incarnation: str,
    message: str | None = None,
    old_revision: bool = False,
) -> Obj:
    """A pod of the past: evicted, shut down with the node, or a Failed pod of an older revision."""
    exit_code, term_reason = (137, "Error") if how != "failed" else (1, "Error")
    p = pod(
        comp,
        CS(terminated(term_reason, exit_code, age - 5, ended, incarnation), restarts=0),
        created=age,
        incarnation=incarnation,
        phase="Failed",
    )
    status = p["status"]
    if how in ("evicted", "evicted-memory"):
        status["reason"] = "Evicted"
        status["message"] = (message or (EVICTED_MSG if how == "evicted" else EVICTED_MEMORY_MSG)).format(
            c=comp.container
        )
    elif how == "shutdown":
        status["reason"] = "Terminated"
        status["message"] = SHUTDOWN_MSG
    elif how == "shutdown-rejected":
        status["reason"] = "NodeShutdown"
        status["message"] = SHUTDOWN_REJECTED_MSG
    if how != "failed":
        status["conditions"].append(
            {
                "type": "DisruptionTarget",
                "status": "True",
                "reason": "TerminationByKubelet",
                "message": status["message"],
                "lastProbeTime": None,
                "lastTransitionTime": ts(ended + 1),
            }
        )
    if old_revision and comp.kind == "Deployment":
        old_hash = rs_hash(comp, "previous-revision")
        p["metadata"]["labels"]["pod-template-hash"] = old_hash
        p["metadata"]["ownerReferences"] = [
            owner_ref("apps/v1", "ReplicaSet", f"{comp.workload}-{old_hash}", comp.namespace)
        ]
        p["metadata"]["name"] = f"{comp.workload}-{old_hash}-{pod_suffix(comp, incarnation)}"
        p["metadata"]["uid"] = uid("Pod", comp.namespace, p["metadata"]["name"], incarnation)
    w.add(KEY_PODS, p)
    if how.startswith("evicted"):
        w.add(
            KEY_EVENTS,
            event(p, "Evicted", status["message"], first=ended + 2),
            event(
                p,
                "Killing",
                f"Stopping container {comp.container}",
                type="Normal",
                first=ended + 1,
                field_path=cfp(comp),
            ),
        )
    return p


def pressured_node(w: World, kind: str = "DiskPressure", *, since: float = 900) -> Obj:
    n = w.res[KEY_NODES][0]
    reason, message, resource = {
        "DiskPressure": ("KubeletHasDiskPressure", "kubelet has disk pressure", "ephemeral-storage"),
        "MemoryPressure": (
            "KubeletHasInsufficientMemory",
            "kubelet has insufficient memory available",
            "memory",
        ),
        "PIDPressure": ("KubeletHasInsufficientPID", "kubelet has insufficient PID available", "pids"),
    }[kind]
    for c in n["status"]["conditions"]:
        if c["type"] == kind:
            c.update(
                {"status": "True", "reason": reason, "message": message, "lastTransitionTime": ts(since)}
            )
    taint = (
        "node.kubernetes.io/"
        + {"DiskPressure": "disk", "MemoryPressure": "memory", "PIDPressure": "pid"}[kind]
        + "-pressure"
    )
    n["spec"].setdefault("taints", []).append(
        {"key": taint, "effect": "NoSchedule", "timeAdded": ts(since - 2)}
    )
    w.add(
        KEY_EVENTS,
        event(n, f"NodeHas{kind}", f"Node {NODE} status is now: NodeHas{kind}", type="Normal", first=since),
        event(
            n, "EvictionThresholdMet", f"Attempting to reclaim {resource}", first=since - 5, last=60, count=14
        ),
    )
    return n


def taint_pending(w: World, comp: Comp, *, kind: str = "disk", age: float = 600) -> Obj:
    msg = TAINT_PENDING_MSG.format(kind=kind)
    p = pod(
        comp,
        CS(waiting("ContainerCreating"), image_pulled=False),
        created=age,
        incarnation="replacement",
        scheduled=False,
        unschedulable_msg=msg,
    )
    w.add(KEY_PODS, p)
    w.add(KEY_EVENTS, scheduler_event(p, msg, first=age - 1, last=30, count=9))
    return p


def mount_failing(w: World, *, age: float = 700, count: int = 14, first: float | None = None) -> Obj:
    """db-0 stuck in ContainerCreating: its local-path directory is gone (FailedMount)."""
    comp = COMPS["db"]
    p = pod(comp, CS(waiting("ContainerCreating"), image_pulled=False), created=age)
    w.remove_component_pods(comp)
    w.add(KEY_PODS, p)
    put_workload(w, comp, ready=False, created=age + 5)
    first = first if first is not None else age - 3
    sched = event(
        p,
        "Scheduled",
        f"Successfully assigned msp/{p['metadata']['name']} to {NODE}",
        type="Normal",
        first=age - 1,
        component="default-scheduler",
    )
    sched["source"] = {"component": "default-scheduler"}
    sched["reportingInstance"] = f"default-scheduler-{NODE}"
    evs = [sched, event(p, "FailedMount", LOCAL_PATH_MISSING, count=count, first=first, last=min(first, 20))]
    if first - 120 > 20:
        evs.append(
            event(p, "FailedMount", MOUNT_TIMEOUT, count=max(1, count // 3), first=first - 120, last=20)
        )
    w.add(KEY_EVENTS, *evs)
    return p


def flux_controllers(w: World, *, age: float = 5300) -> None:
    for comp in FLUX_COMPS.values():
        w.add(KEY_DEPLOY, deployment(comp, created=age + 5))
        w.add(KEY_PODS, healthy_pod(comp, age=age))


def upgrade_failed(w: World, hr: str = "alga-core", *, at: float = 600) -> Obj:
    """A failed Helm upgrade: the previous revision stays deployed and keeps serving."""
    _tier, chart, _path = HELM_RELEASES[hr]
    h = helm_release(hr, created=3010)
    msg = (
        f"Helm upgrade failed for release msp/{hr} with chart {chart}@0.1.1: cannot patch "
        f'"alga-core-sebastian" with kind Deployment: Deployment.apps "alga-core-sebastian" is invalid: '
        'spec.template.spec.containers[0].resources.requests: Invalid value: "3Gi": must be less than '
        "or equal to memory limit of 2Gi"
    )
    failed = history_entry(hr, status="failed", deployed=at + 5, version=2)
    failed["chartVersion"] = "0.1.1"
    h["status"].update(
        {
            "conditions": [
                cond("Stalled", "True", "RetriesExceeded", "Failed to upgrade after 1 attempt(s)", when=at),
                cond("Ready", "False", "UpgradeFailed", msg, when=at),
                cond("Released", "False", "UpgradeFailed", msg, when=at),
            ],
            "history": [failed, *h["status"]["history"]],
            "lastAttemptedRevision": "0.1.1",
            "lastAttemptedReleaseAction": "upgrade",
            "failures": 1,
            "upgradeFailures": 1,
        }
    )
    w.replace(KEY_HR, h)
    w.add(KEY_EVENTS, flux_event(h, "UpgradeFailed", msg, first=at))
    return h


@object_fixtures("crash_loop")
def crash_loop_pods_of_the_past(fx: FixtureSet) -> None:
    """Pods of the past (evicted, shut down with the node) are never crash loops (class 1)."""
    w = base()
    for name in ("alga-core", "email-service", "temporal-worker"):
        comp = COMPS[name]
        w.add(KEY_DEPLOY, deployment(comp, created=4000))
        past_pod(w, comp, how="evicted", age=3900, ended=1800, incarnation="evicted-1")
        w.add(KEY_PODS, pod(comp, CS(running(1700), ready=True), created=1750, incarnation="now"))
    fx.negative(
        "evicted-and-replaced",
        "Three pods were evicted during a disk clean-up (phase Failed, reason Evicted, DisruptionTarget); "
        "their ReplicaSets replaced them with pods that are Ready. History, not crash loops.",
        w,
        absent=["crash_loop", "workload_not_ready", "node_pressure"],
    )
    w = base()
    for i, name in enumerate(("db", "redis", "pgbouncer", "alga-core", "temporal", "workflow-worker")):
        comp = COMPS[name]
        if comp.kind == "StatefulSet":
            continue  # a StatefulSet re-creates its pod under the same name: no ghost survives
        w.add(KEY_DEPLOY, deployment(comp, created=5000))
        past_pod(
            w,
            comp,
            how="shutdown" if i % 2 else "shutdown-rejected",
            age=4800,
            ended=1200,
            incarnation="boot-1",
        )
        w.add(KEY_PODS, pod(comp, CS(running(1000), ready=True), created=1100, incarnation="boot-2"))
    fx.negative(
        "node-shutdown-ghosts",
        "After a graceful node shutdown the old pods stay Failed (Terminated: 'Pod was terminated in "
        "response to imminent node shutdown.', NodeShutdown); their replacements run and are Ready.",
        w,
        absent=["crash_loop", "workload_not_ready"],
    )
    w = base()
    comp = COMPS["email-service"]
    w.add(KEY_DEPLOY, deployment(comp, created=4000))
    past_pod(w, comp, how="failed", age=3000, ended=2900, incarnation="rev1", old_revision=True)
    w.add(KEY_PODS, pod(comp, CS(running(2500), ready=True), created=2600))
    fx.negative(
        "past-revision-failed",
        "A Failed pod (exit 1) of email-service's previous ReplicaSet revision remains; the current "
        "revision (pod-template-hash named by the Deployment's Progressing condition) is Ready.",
        w,
    )
    w = base()
    crash_looping(w, COREDNS, log=COREDNS_CRASH_LOG, restarts=9, age=2000)
    fx.positive(
        "coredns-named-by-workload",
        "CoreDNS (outside the release) crash-loops: the blocker names its Deployment 'coredns', not "
        "the pod coredns-<hash>-<suffix>.",
        w,
        "coredns",
    )


@object_fixtures("image_tag_not_found")
def image_tag_not_found_with_ghosts(fx: FixtureSet) -> None:
    """A real missing tag plus pods of the past (mixed)."""
    w = base()
    pull_failing(w, COMPS["workflow-worker"], not_found_error(COMPS["workflow-worker"].image))
    for name in ("email-service", "temporal-worker", "alga-core"):
        comp = COMPS[name]
        w.add(KEY_DEPLOY, deployment(comp, created=5000))
        past_pod(w, comp, how="shutdown", age=4900, ended=1300, incarnation="boot-1")
        w.add(KEY_PODS, pod(comp, CS(running(1100), ready=True), created=1200, incarnation="boot-2"))
    fx.positive(
        "with-shutdown-ghosts",
        "workflow-worker's tag does not exist; three pods left Failed by a node reboot are history and "
        "must not outrank it (nor become crash loops).",
        w,
        "workflow-worker",
        absent=["crash_loop"],
    )


@object_fixtures("node_pressure")
def node_pressure(fx: FixtureSet) -> None:
    """Node pressure: a kubelet pressure condition and its taint (class 2)."""
    w = base()
    pressured_node(w, "DiskPressure")
    for name in ("email-service", "temporal-worker"):
        comp = COMPS[name]
        w.add(KEY_DEPLOY, deployment(comp, ready=0, available=False, created=3000))
        past_pod(w, comp, how="evicted", age=2900, ended=700, incarnation="evicted-1")
        taint_pending(w, comp, age=690)
    fx.positive(
        "disk-pressure-evictions",
        "DiskPressure=True: the kubelet evicted email-service and temporal-worker (ephemeral-storage) "
        "and the disk-pressure taint keeps their replacements Pending. The node is the cause; the "
        "Pending pods are listed after it, the evicted ones are not crash loops.",
        w,
        "node",
        codes=["node_pressure", "unschedulable"],
        absent=["crash_loop"],
    )
    w = base()
    pressured_node(w, "MemoryPressure", since=400)
    comp = COMPS["workflow-worker"]
    w.add(KEY_DEPLOY, deployment(comp, created=3000))
    past_pod(w, comp, how="evicted-memory", age=2900, ended=380, incarnation="evicted-1")
    w.add(KEY_PODS, pod(comp, CS(running(300), ready=True), created=330, incarnation="now"))
    fx.positive(
        "memory-pressure",
        "MemoryPressure=True (KubeletHasInsufficientMemory): workflow-worker was evicted for memory and "
        "replaced; the node is still short of memory.",
        w,
        "node",
        absent=["crash_loop"],
    )
    w = base()
    n = w.res[KEY_NODES][0]
    w.add(
        KEY_EVENTS,
        event(
            n,
            "NodeHasDiskPressure",
            f"Node {NODE} status is now: NodeHasDiskPressure",
            type="Normal",
            first=3000,
        ),
        event(
            n,
            "NodeHasNoDiskPressure",
            f"Node {NODE} status is now: NodeHasNoDiskPressure",
            type="Normal",
            first=2400,
        ),
    )
    comp = COMPS["email-service"]
    w.add(KEY_DEPLOY, deployment(comp, created=4000))
    past_pod(w, comp, how="evicted", age=3900, ended=2900, incarnation="evicted-1")
    w.add(KEY_PODS, pod(comp, CS(running(2300), ready=True), created=2350, incarnation="now"))
    fx.negative(
        "pressure-cleared",
        "Disk pressure 50 minutes ago (events, one evicted pod left); DiskPressure=False now and the "
        "replacement is Ready.",
        w,
        absent=["node_pressure", "crash_loop", "unschedulable"],
    )


@object_fixtures("volume_mount_failed")
def volume_mount_failed(fx: FixtureSet) -> None:
    """A volume that cannot be mounted: the local-path directory is gone (class 3)."""
    w = base()
    mount_failing(w)
    w.add(KEY_PVCS, pvc("db-data-db-0", created=3000))
    fx.positive(
        "local-path-missing",
        "db-0 stays in ContainerCreating: the local-path directory of its bound volume no longer "
        "exists on the node (FailedMount, NewMounter … does not exist).",
        w,
        "db",
        absent=["storage_pvc_subpath_failed", "container_config_error"],
    )
    w = base()
    mount_failing(w, age=2100)
    w.add(KEY_PVCS, pvc("db-data-db-0", created=3000))
    helm_timeout(w, "alga-core", created=2110)
    fx.positive(
        "helm-timeout-it-causes",
        "db-0 cannot mount its volume; alga-core's Helm install then times out with 'context deadline "
        "exceeded'. The mount failure is listed first, the HelmRelease after it.",
        w,
        "db",
        codes=["volume_mount_failed", "helmrelease_failed"],
    )
    w = base()
    comp = COMPS["db"]
    p = pod(comp, CS(running(2900), ready=True), created=3000)
    w.add(KEY_PODS, p)
    w.add(KEY_STS, statefulset(comp, created=3005))
    w.add(KEY_PVCS, pvc("db-data-db-0", created=3005))
    w.add(
        KEY_EVENTS,
        event(p, "FailedMount", LOCAL_PATH_MISSING, count=2, first=2998, last=2990),
        event(
            p,
            "Pulled",
            f'Container image "{comp.image}" already present on machine',
            type="Normal",
            first=2920,
            field_path=cfp(comp),
        ),
        event(
            p,
            "Started",
            f"Started container {comp.container}",
            type="Normal",
            first=2900,
            field_path=cfp(comp),
        ),
    )
    fx.negative(
        "mounted-after-retry",
        "Two FailedMount events while the provisioner created the directory; then the volume mounted "
        "and db-0 runs and is Ready.",
        w,
    )
    w = base()
    mount_failing(w, age=25, count=2, first=20)
    fx.negative(
        "just-scheduled",
        "db-0 was scheduled 25 s ago; one FailedMount retry so far. Waiting is not failing.",
        w,
    )


@object_fixtures("image_pull_rate_limited")
def image_pull_rate_limited(fx: FixtureSet) -> None:
    """Docker Hub answers 429 Too Many Requests (class 4)."""
    w = base()
    for name in ("temporal", "temporal-ui"):
        comp = COMPS[name]
        pull_failing(w, comp, rate_limited_error(comp.image))
    fx.positive(
        "dockerhub-temporal",
        "Docker Hub answers 429 Too Many Requests for the temporalio/* images (anonymous pulls); the "
        "cause is only in the pods' Failed events.",
        w,
        "temporal",
        absent=[
            "image_tag_not_found",
            "image_pull_auth_failed",
            "image_pull_interrupted",
            "workload_not_ready",
        ],
    )
    w = base()
    comp = COMPS["temporal"]
    p = pod(comp, CS(running(300), ready=True), created=1500)
    w.add(KEY_PODS, p)
    w.add(KEY_DEPLOY, deployment(comp, created=1505))
    w.add(
        KEY_EVENTS,
        event(
            p,
            "Failed",
            f'Failed to pull image "{comp.image}": {rate_limited_error(comp.image)}',
            count=4,
            first=1490,
            last=700,
            field_path=cfp(comp),
        ),
        event(
            p,
            "Pulled",
            f'Successfully pulled image "{comp.image}" in 41.2s (9m2.113s including waiting). '
            "Image size: 213123481 bytes.",
            type="Normal",
            first=310,
            field_path=cfp(comp),
        ),
    )
    fx.negative(
        "pulled-after-window",
        "temporal hit the rate limit for a while, then the pull went through; it runs and is Ready.",
        w,
    )


@object_fixtures("flux_controller_unavailable")
def flux_controller_unavailable(fx: FixtureSet) -> None:
    """A Flux controller that does not run (class 5)."""
    w = base()
    flux_controllers(w)
    crash_looping(
        w,
        FLUX_COMPS["kustomize-controller"],
        log=FLUX_OOM_LOG,
        reason="OOMKilled",
        exit_code=137,
        restarts=11,
        age=5300,
    )
    fx.positive(
        "kustomize-controller-oom",
        "kustomize-controller is OOMKilled in a loop: no tier is reconciled. Named by its Deployment "
        "(kustomize-controller), not its pod; the OOM cause follows it.",
        w,
        "kustomize-controller",
        codes=["flux_controller_unavailable", "oom_killed"],
    )
    w = base()
    flux_controllers(w)
    fx.negative("controllers-running", "All four Flux controllers run and are Ready.", w)


@snapshot_scenario
def ghosts_after_reboot_snapshot() -> Iterator[Scenario]:
    """Class 1: healthy, with the pods a reboot and a disk clean-up left behind."""
    w = healthy_world()
    for i, name in enumerate(
        ("pgbouncer", "alga-core", "temporal", "temporal-ui", "email-service", "workflow-worker")
    ):
        comp = COMPS[name]
        how = (
            "evicted"
            if name in ("email-service", "workflow-worker")
            else ("shutdown" if i % 2 else "shutdown-rejected")
        )
        past_pod(
            w, comp, how=how, age=5200, ended=1600 if how == "evicted" else 1520, incarnation="before-reboot"
        )
    n = w.res[KEY_NODES][0]
    w.add(
        KEY_EVENTS,
        event(
            n,
            "NodeHasDiskPressure",
            f"Node {NODE} status is now: NodeHasDiskPressure",
            type="Normal",
            first=1700,
        ),
        event(
            n,
            "NodeHasNoDiskPressure",
            f"Node {NODE} status is now: NodeHasNoDiskPressure",
            type="Normal",
            first=1550,
        ),
    )
    yield (
        Scenario(
            "ghosts-after-reboot",
            "Fully healthy after a reboot and a disk clean-up: six Failed pods remain (Terminated / "
            "NodeShutdown after the graceful shutdown, Evicted for ephemeral-storage); every ReplicaSet "
            "has replaced them with Ready pods. Pods of the past are not crash loops.",
            snapshot_doc(w, probes=probes_ok()),
            "fully_healthy",
            None,
            None,
        )
    )


@snapshot_scenario
def disk_pressure_evictions_snapshot() -> Iterator[Scenario]:
    """Class 2, mixed: the pressure plus the evictions and Pending pods it causes."""
    w = healthy_world()
    pressured_node(w, "DiskPressure", since=1000)
    for name in ("email-service", "workflow-worker", "temporal-worker"):
        comp = COMPS[name]
        w.remove_component_pods(comp)
        put_workload(w, comp, ready=False, created=1480)
        past_pod(w, comp, how="evicted", age=1470, ended=980, incarnation="")
        taint_pending(w, comp, age=975)
    prune_orphan_events(w)
    yield (
        Scenario(
            "disk-pressure-evictions",
            "DiskPressure=True on the node: the kubelet evicted three background pods and the "
            "disk-pressure taint keeps their replacements Pending. Login works; the node's condition is "
            "the top blocker, the Pending pods follow it, the evicted pods are not crash loops.",
            snapshot_doc(w, probes=probes_ok()),
            "ready_with_background_issues",
            "node_pressure",
            "node",
            extra={"blockerOrder": ["node_pressure", "unschedulable"]},
        )
    )


@snapshot_scenario
def db_mount_failed_helm_timeout_snapshot() -> Iterator[Scenario]:
    """Class 3, mixed: the mount failure, the Helm timeout, a pod of the past."""
    w = healthy_world(with_background=False)
    drop_bootstrap(w)
    mount_failing(w, age=2100)
    helm_timeout(w, "alga-core", created=2110)
    web = COMPS["alga-core"]  # the web app runs but never becomes ready without its database
    w.remove_component_pods(web)
    w.add(KEY_PODS, pod(web, CS(running(2000), ready=False), created=2050))
    put_workload(w, web, ready=False, created=2055)
    comp = COMPS["pgbouncer"]
    past_pod(w, comp, how="shutdown", age=5000, ended=2200, incarnation="before-reboot")
    w.replace(KEY_KS, kustomization("alga-core", state="progressing", created=2120))
    prune_orphan_events(w)
    yield (
        Scenario(
            "db-mount-failed-helm-timeout",
            "After a reboot db-0 cannot mount its local-path volume (the directory is gone): it stays "
            "in ContainerCreating and alga-core's Helm install times out. The mount failure is the "
            "root cause; a pgbouncer pod left by the reboot is history.",
            snapshot_doc(w, probes=PROBES_WEB_DOWN),
            "failed_action_required",
            "volume_mount_failed",
            "db",
            extra={"blockerOrder": ["volume_mount_failed", "helmrelease_failed"]},
        )
    )


@snapshot_scenario
def temporal_rate_limited_snapshot() -> Iterator[Scenario]:
    """Class 4: Docker Hub rate-limits the temporal images."""
    w = healthy_world()
    for name in ("temporal", "temporal-ui"):
        pull_failing(w, COMPS[name], rate_limited_error(COMPS[name].image), age=1470)
    prune_orphan_events(w)
    yield (
        Scenario(
            "temporal-rate-limited",
            "Docker Hub rate-limits the anonymous pulls of temporalio/auto-setup and temporalio/ui "
            "(429 Too Many Requests); login is unaffected.",
            snapshot_doc(w, probes=probes_ok()),
            "ready_with_background_issues",
            "image_pull_rate_limited",
            "temporal",
        )
    )


@snapshot_scenario
def flux_controller_oom_snapshot() -> Iterator[Scenario]:
    """Class 5: a Flux controller OOM-killed in a loop."""
    w = healthy_world()
    flux_controllers(w)
    crash_looping(
        w,
        FLUX_COMPS["kustomize-controller"],
        log=FLUX_OOM_LOG,
        reason="OOMKilled",
        exit_code=137,
        restarts=11,
        age=5300,
    )
    prune_orphan_events(w)
    yield (
        Scenario(
            "flux-controller-oom",
            "The appliance runs, but kustomize-controller is OOMKilled in a loop: no tier is "
            "reconciled until it is back. Login is not affected.",
            snapshot_doc(w, probes=probes_ok()),
            "ready_with_background_issues",
            "flux_controller_unavailable",
            "kustomize-controller",
            extra={"blockerOrder": ["flux_controller_unavailable", "oom_killed"]},
        )
    )


@snapshot_scenario
def helm_upgrade_failed_serving_snapshot() -> Iterator[Scenario]:
    """The documented answer of docs/status.md for a failed upgrade while the old revision serves."""
    w = healthy_world()
    drop_bootstrap(w)  # the chart's TTL deleted the finished Job
    upgrade_failed(w)
    prune_orphan_events(w)
    yield (
        Scenario(
            "helm-upgrade-failed-serving",
            "alga-core's Helm upgrade to 0.1.1 failed (UpgradeFailed, Stalled); the previous revision "
            "stays deployed and serves login; the bootstrap Job is gone (TTL), 7 users seeded. Login is "
            "ready; the failed upgrade needs attention.",
            snapshot_doc(w, probes=probes_ok()),
            "ready_with_background_issues",
            "helmrelease_failed",
            "alga-core",
        )
    )


@snapshot_scenario
def git_source_failed_day_91_snapshot() -> Iterator[Scenario]:
    """The documented answer of docs/status.md for an expired Git token."""
    w = healthy_world()
    g = find(w, KEY_GITREPO, "alga-appliance")
    w.replace(
        KEY_GITREPO,
        git_repository("alga-appliance", ready=False, failure=GIT_AUTH_MSG.replace(APP_REPO, APPLIANCE_REPO)),
    )
    w.add(
        KEY_EVENTS,
        flux_event(
            g,
            "GitOperationFailed",
            GIT_AUTH_MSG.replace(APP_REPO, APPLIANCE_REPO),
            first=4990,
            last=40,
            count=87,
        ),
    )
    yield (
        Scenario(
            "git-source-failed-day-91",
            "Day 91: the Git token expired, so the alga-appliance GitRepository fails (authentication "
            "required) while every workload runs and login works. The platform tier is not ready; "
            "login is.",
            snapshot_doc(w, probes=probes_ok()),
            "ready_with_background_issues",
            "flux_source_failed",
            "flux-source",
        )
    )


# --- writing -----------------------------------------------------------------------------------


def render(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def planned_files() -> dict[Path, str]:
    files: dict[Path, str] = {}
    for fx in fixtures():
        files[FIXTURES / "objects" / fx.code / f"{fx.name}.json"] = render(fx.document())
    expectations: Obj = {}
    for sc in scenarios():
        files[FIXTURES / "snapshots" / f"{sc.name}.json"] = render(sc.doc)
        exp: Obj = {
            "rollup": sc.rollup,
            "topBlocker": sc.top,
            "component": sc.component,
            "description": sc.description,
        }
        if sc.stale_events:
            exp["staleEvents"] = sorted(sc.stale_events)
        if sc.extra:
            exp.update(sc.extra)
        expectations[sc.name] = exp
    files[FIXTURES / "snapshots" / "expectations.json"] = render(expectations)
    return files


def generated_files() -> set[Path]:
    """The JSON files the generator owns on disk (a file no fixture plans any more is an orphan)."""
    return {*FIXTURES.glob("objects/*/*.json"), *FIXTURES.glob("snapshots/*.json")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if any fixture file would change or is left over"
    )
    args = parser.parse_args(argv)
    files = planned_files()
    stale = [p for p, text in files.items() if not p.is_file() or p.read_text() != text]
    orphans = sorted(generated_files() - set(files))
    if args.check:
        for p in stale:
            sys.stderr.write(f"out of date: {p.relative_to(REPO)}\n")
        for p in orphans:
            sys.stderr.write(f"not generated any more: {p.relative_to(REPO)}\n")
        return 1 if stale or orphans else 0
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(files[p])
    for p in orphans:
        p.unlink()
    sys.stdout.write(f"{len(files)} fixture files, {len(stale)} written, {len(orphans)} removed\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
