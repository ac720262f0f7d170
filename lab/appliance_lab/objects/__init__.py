"""Kubernetes and Flux objects shaped as the API servers return them, built deterministically.

One builder for the status fixtures (``scripts/make_fixtures.py``), the tests and the lab:
every field name is the API's, every message the wording the real component prints (the
sources are listed in ``tests/fixtures/README.md``). Times are seconds before one reference
moment (``COLLECTED``); uids and resourceVersions are derived from names.
"""

from __future__ import annotations

from .components import (
    BACKGROUND_COMPS,
    BOOTSTRAP_JOB,
    COMPS,
    CORE_COMPS,
    COREDNS,
    FLUX_COMPS,
    HELM_RELEASES,
    Comp,
    labels_for,
    pod_name,
    pod_suffix,
    rs_hash,
)
from .events import event, scheduler_event
from .flux import cond, flux_event, git_repository, helm_release, history_entry, kustomization
from .ids import (
    APP_REPO,
    APPLIANCE_REPO,
    APPLIANCE_REV,
    CHARTS_REV,
    COLLECTED,
    NODE,
    NODE_IP,
    RELEASE,
    Obj,
    digest,
    hexdigest,
    meta,
    owner_ref,
    rv,
    ts,
    ts_micro,
    uid,
)
from .nodes import node
from .pods import CS, cfp, container_status, pod, pod_conditions, running, terminated, waiting
from .pulls import (
    backoff_msg,
    forbidden_error,
    not_found_error,
    pull_failure_events,
    rate_limited_error,
    unauthorized_error,
)
from .workloads import deployment, job, job_pod, pvc, statefulset

__all__ = [
    "APPLIANCE_REPO",
    "APPLIANCE_REV",
    "APP_REPO",
    "BACKGROUND_COMPS",
    "BOOTSTRAP_JOB",
    "CHARTS_REV",
    "COLLECTED",
    "COMPS",
    "COREDNS",
    "CORE_COMPS",
    "CS",
    "FLUX_COMPS",
    "HELM_RELEASES",
    "NODE",
    "NODE_IP",
    "RELEASE",
    "Comp",
    "Obj",
    "backoff_msg",
    "cfp",
    "cond",
    "container_status",
    "deployment",
    "digest",
    "event",
    "flux_event",
    "forbidden_error",
    "git_repository",
    "helm_release",
    "hexdigest",
    "history_entry",
    "job",
    "job_pod",
    "kustomization",
    "labels_for",
    "meta",
    "node",
    "not_found_error",
    "owner_ref",
    "pod",
    "pod_conditions",
    "pod_name",
    "pod_suffix",
    "pull_failure_events",
    "pvc",
    "rate_limited_error",
    "rs_hash",
    "running",
    "rv",
    "scheduler_event",
    "statefulset",
    "terminated",
    "ts",
    "ts_micro",
    "uid",
    "unauthorized_error",
    "waiting",
]
