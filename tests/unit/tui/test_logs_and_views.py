"""The pieces of `appliance logs` and the console that need no cluster: durations, pod and
container choice, the progress lines, the site list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from appliance_cli.bootstrap.reporters import plain_line
from appliance_cli.catalog import load_catalog
from appliance_cli.errors import UsageError
from appliance_cli.logs import ComponentLogs, LogOptions, find_component, parse_since
from appliance_cli.progress import ProgressEvent
from appliance_cli.tui.reporter import LineReporter
from appliance_cli.tui.sites import list_sites


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("2h", 7200), ("1h30m", 5400), ("1m5s", 65)]
)
def test_since_accepts_kubectl_durations(text: str, seconds: int) -> None:
    assert parse_since(text) == seconds


@pytest.mark.parametrize("text", ["", "yesterday", "5", "0s", "-5m", "1d"])
def test_since_refuses_anything_else_naming_the_flag(text: str) -> None:
    with pytest.raises(UsageError) as exc:
        parse_since(text)
    assert exc.value.param == "--since"


def test_an_unknown_component_lists_the_known_ones() -> None:
    with pytest.raises(UsageError) as exc:
        find_component("postgres")
    assert exc.value.param == "COMPONENT" and "alga-core" in exc.value.message


def _pod(
    name: str, containers: list[str], *, owner: str = "ReplicaSet", running: bool = True
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "msp",
            "uid": f"uid-{name}",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "ownerReferences": [{"kind": owner, "name": "x", "apiVersion": "v1", "uid": "u"}],
        },
        "spec": {"containers": [{"name": c} for c in containers]},
        "status": {
            "containerStatuses": [
                {
                    "name": c,
                    "restartCount": 2,
                    "state": {"running": {}} if running else {"waiting": {"reason": "CrashLoopBackOff"}},
                }
                for c in containers
            ]
        },
    }


class FakeKube:
    """The protocol edge: pods as listed, and which log requests were made."""

    def __init__(self, pods: list[dict[str, Any]]) -> None:
        self.pods = pods
        self.asked: list[tuple[str, str | None, int]] = []

    def list_raw(self, key: str, namespace: str | None = None, *args: Any, **kw: Any) -> dict[str, Any]:
        return {"items": self.pods}

    def pod_logs(
        self, namespace: str, pod: str, container: str | None = None, tail_lines: int = 50, **kw: Any
    ) -> list[str]:
        self.asked.append((pod, container, tail_lines))
        return [f"{pod} token=s3cr3t-value"]

    def follow_pod_logs(self, *args: Any, **kw: Any) -> Any:
        raise AssertionError("not followed here")


def test_pods_of_the_component_not_its_bootstrap_job_nor_other_components() -> None:
    kube = FakeKube(
        [
            _pod("alga-core-sebastian-abc12-x1", ["sebastian"]),
            _pod("alga-core-sebastian-bootstrap-k2-p9", ["bootstrap"], owner="Job"),
            _pod("db-0", ["db"]),
        ]
    )
    logs = ComponentLogs(kube, find_component("alga-core"))  # type: ignore[arg-type]
    assert [p["metadata"]["name"] for p in logs.pods()] == ["alga-core-sebastian-abc12-x1"]


def test_the_catalogs_main_container_is_read_when_it_names_one_else_every_container() -> None:
    db = load_catalog().component("db")
    assert db.workload.container == "db"
    kube = FakeKube([_pod("db-0", ["db", "metrics-exporter"])])
    _lines, refs = ComponentLogs(kube, db).read(LogOptions(tail=5))  # type: ignore[arg-type]
    assert kube.asked == [("db-0", "db", 5)]
    redis = FakeKube([_pod("redis-0", ["redis", "sidecar"])])
    ComponentLogs(redis, find_component("redis")).read(LogOptions())  # type: ignore[arg-type]
    assert [c for _p, c, _t in redis.asked] == ["redis", "sidecar"]
    assert refs[0].restarts == 2 and refs[0].running


def test_lines_are_redacted() -> None:
    kube = FakeKube([_pod("db-0", ["db"])])
    logs = ComponentLogs(kube, find_component("db"), redact_extra=("db-0",))  # type: ignore[arg-type]
    lines, _refs = logs.read(LogOptions())
    assert "s3cr3t" not in lines[0].text and "<redacted>" in lines[0].text


def test_the_console_reporter_writes_the_plain_lines_and_each_wait_once_per_change() -> None:
    written: list[str] = []
    rep = LineReporter(written.append)
    start = ProgressEvent(3, "Core", "apply alga-core", "start")
    wait = ProgressEvent(3, "Core", "login", "waiting", {"lastSaw": "web not ready", "elapsedSeconds": 1})
    again = ProgressEvent(3, "Core", "login", "waiting", {"lastSaw": "web not ready", "elapsedSeconds": 2})
    changed = ProgressEvent(3, "Core", "login", "waiting", {"lastSaw": "probe 307", "elapsedSeconds": 3})
    for e in (start, wait, again, changed):
        rep.emit(e)
    assert written == [plain_line(start), plain_line(wait), plain_line(changed)]
    assert len(rep.events) == 4


def test_sites_are_the_directories_with_a_valid_site_id(tmp_path: Path) -> None:
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "kubeconfig").write_text("{}")
    (tmp_path / "office-1").mkdir()
    (tmp_path / "Not A Site").mkdir()
    (tmp_path / "stray-file").write_text("")
    sites = list_sites(tmp_path)
    assert [(s.site_id, s.has_kubeconfig) for s in sites] == [("lab", True), ("office-1", False)]
