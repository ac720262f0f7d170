"""The status collector against the lab's Kubernetes API over real HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from appliance_lab.store import BY_KEY, Store

from appliance_cli.adapters.kube import KubeClient
from appliance_cli.adapters.kube_retry import STATUS_RETRY
from appliance_cli.status.collect import LIST_REQUESTS, LOG_TAIL_LINES, CollectOptions, collect
from appliance_cli.status.live import classify_live, collect_snapshot, collect_status
from appliance_cli.status.snapshot import RESOURCE_KEYS
from tests.integration.status.conftest import Proxy, filler_pods, seed_healthy

pytestmark = pytest.mark.timeout(60)


class _Login:
    """A loopback login endpoint: ``/`` answers 307 to ``/msp/dashboard``; hits are counted."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.hits.append(self.path)
                if self.path == "/":
                    self.send_response(307)
                    self.send_header("Location", "/msp/dashboard")
                else:
                    self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"


@pytest.fixture
def login() -> Iterator[_Login]:
    srv = _Login()
    yield srv
    srv.server.shutdown()
    srv.server.server_close()


def _opts(login_url: str | None = None, **kw: Any) -> CollectOptions:
    return CollectOptions(site_id="lab", node_ip="127.0.0.1", login_url=login_url, exec_seed_probe=True, **kw)


def _seed_queries(store: Store, answer: list[str]) -> list[str]:
    """The database pod answers the seed-user query with ``answer[0]`` (set it to change the
    answer); returned: the answers it gave, one per query, in order."""
    queries: list[str] = []

    def handler(ns: str, pod: str, container: str, command: list[str]) -> tuple[str, str, int] | None:
        if (ns, pod, container) == ("msp", "db-0", "db") and command[:1] == ["psql"]:
            queries.append(answer[0])
            return answer[0], "", 0
        return None

    store.register_exec_handler(handler)
    return queries


def _seed_answer(store: Store, count: str = "7\n") -> None:
    _seed_queries(store, [count])


def test_a_healthy_lab_is_collected_and_classified_fully_healthy(
    store: Store, direct_kubeconfig: Path, login: _Login
) -> None:
    seed_healthy(store)
    _seed_answer(store)
    client = KubeClient.from_kubeconfig(direct_kubeconfig)
    snap = collect(client, _opts(login.url))
    assert snap.reachability.kubernetes.reachable
    assert set(snap.resources) == set(RESOURCE_KEYS)
    assert snap.collection.unavailable == {}
    assert snap.probes.seed_users is not None and snap.probes.seed_users.count == 7
    doc = classify_live(snap)
    assert doc.rollup.state == "fully_healthy", doc.top_blockers


def test_request_count_is_the_same_for_10_and_500_pods(store: Store, kubeconfig: Path, proxy: Proxy) -> None:
    seed_healthy(store)
    filler_pods(store, 10)
    client = KubeClient.from_kubeconfig(kubeconfig)
    proxy.reset()
    small = collect(client, _opts())
    small_seen = proxy.count()
    filler_pods(store, 490, start=10)
    proxy.reset()
    large = collect(client, _opts())
    large_seen = proxy.count()
    assert len(large.items("v1/pods")) == len(small.items("v1/pods")) + 490
    assert small.collection.api_requests == large.collection.api_requests == small_seen == large_seen
    # one LIST per resource key (events: one per field selector) plus the seed-users exec
    assert small.collection.api_requests == LIST_REQUESTS + 1


def test_a_run_remembers_seed_users_per_database_container_and_asks_again_after_a_restart(
    store: Store, direct_kubeconfig: Path
) -> None:
    """Bootstrap's waits collect again and again: seed users once counted are not queried
    again while the same database container runs (a zero count is always asked again)."""
    seed_healthy(store)
    answer = ["0\n"]
    queries = _seed_queries(store, answer)
    client = KubeClient.from_kubeconfig(direct_kubeconfig)
    seen: dict[str, Any] = {}

    def count() -> int | None:
        snap = collect(client, _opts(seed_users_seen=seen))
        assert snap.probes.seed_users is not None and snap.probes.seed_users.error is None, snap.probes
        return snap.probes.seed_users.count

    assert count() == 0 and len(queries) == 1
    answer[0] = "7\n"
    assert count() == 7 and len(queries) == 2  # a zero was not remembered
    assert count() == 7 and len(queries) == 2  # the same container: no query

    def restarted(pod: dict[str, Any]) -> None:
        for cs in pod["status"]["containerStatuses"]:
            cs["restartCount"] = int(cs.get("restartCount", 0)) + 1

    store.mutate(BY_KEY["v1/pods"], "msp", "db-0", restarted)
    answer[0] = "3\n"
    assert count() == 3 and len(queries) == 3  # a new container instance: asked again
    assert count() == 3 and len(queries) == 3


def test_forbidden_resource_is_unavailable_and_the_rest_is_classified(
    store: Store, kubeconfig: Path, proxy: Proxy
) -> None:
    seed_healthy(store)
    proxy.forbid = "/helmreleases"
    doc_snap = collect(KubeClient.from_kubeconfig(kubeconfig), _opts())
    assert doc_snap.reachability.kubernetes.reachable
    assert list(doc_snap.collection.unavailable) == ["helm.toolkit.fluxcd.io/v2/helmreleases"]
    assert "forbidden" in doc_snap.collection.unavailable["helm.toolkit.fluxcd.io/v2/helmreleases"]
    assert "helm.toolkit.fluxcd.io/v2/helmreleases" not in doc_snap.resources
    doc = classify_live(doc_snap)
    assert {c.name for c in doc.components} >= {"db", "redis", "alga-core"}
    assert all(b.code != "kubernetes_api_unreachable" for b in doc.top_blockers)


def test_unreachable_api_is_state_with_the_real_error(tmp_path: Path) -> None:
    from appliance_lab.apiserver import write_kubeconfig

    kc = write_kubeconfig(tmp_path / "kc", "http://127.0.0.1:9", "x")  # discard port: nothing listens
    # The policy ``appliance status`` uses (status/live.py): a short retry, then the verdict.
    snap = collect(KubeClient.from_kubeconfig(kc, timeout=2, retry=STATUS_RETRY), _opts())
    assert not snap.reachability.kubernetes.reachable
    assert "Connection refused" in (snap.reachability.kubernetes.error or "")
    doc = classify_live(snap)
    assert doc.top_blockers[0].code == "kubernetes_api_unreachable"
    assert doc.rollup.state == "failed_action_required"


def test_a_wrong_token_is_reported_as_an_unusable_api_with_the_servers_words(
    store: Store, lab: Any, tmp_path: Path
) -> None:
    from appliance_lab.apiserver import write_kubeconfig

    seed_healthy(store)
    kc = write_kubeconfig(tmp_path / "kc", lab.url, "not-the-token")
    snap = collect(KubeClient.from_kubeconfig(kc), _opts())
    assert not snap.reachability.kubernetes.reachable
    assert "Unauthorized" in (snap.reachability.kubernetes.error or "")
    assert classify_live(snap).top_blockers[0].code == "kubernetes_api_unreachable"


def test_a_503_answer_is_retried_once(store: Store, kubeconfig: Path, proxy: Proxy) -> None:
    seed_healthy(store)
    proxy.fail_once = {"/pods"}
    snap = collect(KubeClient.from_kubeconfig(kubeconfig), _opts())
    assert snap.collection.unavailable == {}
    assert len(snap.items("v1/pods")) > 0
    assert snap.collection.api_requests == LIST_REQUESTS + 1 + 1  # + the retry + the seed exec


def test_talos_is_checked_only_when_kubernetes_is_unreachable(
    tmp_path: Path, kubeconfig: Path, store: Store
) -> None:
    from appliance_lab.apiserver import write_kubeconfig

    from appliance_cli.adapters.talos import HealthResult

    calls: list[int] = []

    def health() -> HealthResult:
        calls.append(1)
        return HealthResult(reachable=True, healthy=False, error=None)

    seed_healthy(store)
    up = collect(KubeClient.from_kubeconfig(kubeconfig), _opts(talos_health=health))
    assert calls == [] and not up.reachability.talos.checked
    kc = write_kubeconfig(tmp_path / "kc", "http://127.0.0.1:9", "x")
    down = collect(KubeClient.from_kubeconfig(kc, timeout=2, retry=STATUS_RETRY), _opts(talos_health=health))
    assert calls == [1] and down.reachability.talos.checked and down.reachability.talos.reachable


def test_login_probe_records_307_and_location_without_following(
    store: Store, kubeconfig: Path, login: _Login
) -> None:
    seed_healthy(store)
    snap = collect(KubeClient.from_kubeconfig(kubeconfig), _opts(login.url))
    probe = snap.probes.login
    assert probe is not None
    assert (probe.status_code, probe.location, probe.error) == (307, "/msp/dashboard", None)
    assert login.hits == ["/"]


def test_log_tails_of_crash_looping_containers_are_bounded_and_redacted(
    store: Store, kubeconfig: Path
) -> None:
    seed_healthy(store)
    rt = BY_KEY["v1/pods"]
    store.create(
        rt,
        {
            "metadata": {"name": "temporal-abc", "namespace": "msp"},
            "spec": {"containers": [{"name": "temporal", "image": "temporalio/auto-setup"}]},
            "status": {
                "phase": "Running",
                "containerStatuses": [
                    {
                        "name": "temporal",
                        "ready": False,
                        "restartCount": 4,
                        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                        "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
                    }
                ],
            },
        },
    )
    noise = [f"line {i}" for i in range(200)]
    secret_lines = [
        "connecting to postgres://temporal:Sup3rS3cret@db:5432/temporal",
        "DB_PASSWORD=hunter2hunter2",
        "sql schema version compatibility check failed: unable to read DB schema version keyspace/database: "
        "temporal error: no usable database connection found",
    ]
    store.append_pod_log("msp", "temporal-abc", "temporal", noise + secret_lines)
    snap = collect(KubeClient.from_kubeconfig(kubeconfig), _opts())
    lines = snap.pod_logs["msp/temporal-abc/temporal"]
    assert len(lines) == LOG_TAIL_LINES
    text = "\n".join(lines)
    assert "Sup3rS3cret" not in text and "hunter2hunter2" not in text
    assert "postgres://temporal:<redacted>@db:5432/temporal" in text
    assert "sql schema version compatibility check failed" in text
    assert list(snap.pod_logs) == ["msp/temporal-abc/temporal"]


def test_pull_events_are_all_read_newest_first(store: Store, kubeconfig: Path) -> None:
    seed_healthy(store)
    rt = BY_KEY["v1/events"]
    n = 2300
    for i in range(n):
        store.create(
            rt,
            {
                "metadata": {"name": f"ev-{i:05d}", "namespace": "msp"},
                "involvedObject": {"kind": "Pod", "namespace": "msp", "name": "x"},
                "reason": "Pulled",
                "message": "m",
                "type": "Normal",
                "lastTimestamp": f"2026-04-30T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z",
            },
        )
    snap = collect(KubeClient.from_kubeconfig(kubeconfig), _opts())
    items = snap.items("v1/events")
    assert len(items) == n
    stamps = [e["lastTimestamp"] for e in items]
    assert stamps == sorted(stamps, reverse=True)
    assert items[0]["metadata"]["name"] == f"ev-{n - 1:05d}"
    assert snap.collection.events is not None and snap.collection.events.cut == []


def test_configmaps_are_only_the_appliance_ones_and_published_facts_are_read(
    store: Store, kubeconfig: Path
) -> None:
    seed_healthy(store)
    rt = BY_KEY["v1/configmaps"]
    store.create(rt, {"metadata": {"name": "unrelated", "namespace": "msp"}, "data": {"password": "nope"}})
    store.create(
        rt,
        {
            "metadata": {
                "name": "appliance-facts",
                "namespace": "appliance-system",
                "labels": {"app.kubernetes.io/part-of": "alga-appliance"},
            },
            "data": {
                "facts.json": '{"siteId": "customer-1", "releaseVersion": "1.0-rc5", '
                '"seedUsers": {"count": 3}, '
                '"currentPhase": {"phase": "Core", "step": "wait", "state": "running"}}'
            },
        },
    )
    snap = collect(KubeClient.from_kubeconfig(kubeconfig), CollectOptions(site_id="lab"))
    names = {c["metadata"]["name"] for c in snap.items("v1/configmaps")}
    assert "unrelated" not in names and "appliance-facts" in names
    assert snap.probes.seed_users is not None
    assert (snap.probes.seed_users.count, snap.probes.seed_users.source) == (3, "published")
    assert snap.site.release_version == "1.0-rc5"
    assert snap.release_facts["bootstrap"]["phase"] == "Core"
    assert snap.site.site_id == "lab"
    in_cluster = collect(
        KubeClient.from_kubeconfig(kubeconfig), CollectOptions(site_id="x", site_id_from_facts=True)
    )
    assert in_cluster.site.site_id == "customer-1"


def test_in_cluster_collector_uses_env_node_ip_and_the_published_app_url(
    store: Store, kubeconfig: Path, login: _Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    from appliance_cli.web.server import LiveCollector

    seed_healthy(store)
    store.create(
        BY_KEY["v1/configmaps"],
        {
            "metadata": {
                "name": "appliance-release-selection",
                "namespace": "alga-system",
                "labels": {"app.kubernetes.io/part-of": "alga-appliance"},
            },
            "data": {"releaseVersion": "1.0-rc5", "appUrl": login.url},
        },
    )
    monkeypatch.setenv("ALGA_APPLIANCE_NODE_IP", "127.0.0.1")
    monkeypatch.setattr(
        KubeClient,
        "in_cluster",
        classmethod(lambda cls, timeout=5.0, retry=None: cls.from_kubeconfig(kubeconfig)),
    )
    collector = LiveCollector(site_id="appliance-single-node", kubeconfig=None, in_cluster=True)
    first, _ = collector()
    assert first.site.node_ip == "127.0.0.1" and first.site.status_url == "https://127.0.0.1:8080"
    second, doc = collector()
    assert second.probes.login is not None and second.probes.login.url == login.url
    assert second.probes.login.status_code == 307 and login.hits
    assert doc.urls.login_url == login.url


def test_collect_status_for_a_site_without_kubeconfig_says_what_to_run_first() -> None:
    from appliance_cli.errors import ActionRequired, UsageError
    from appliance_cli.site import Site

    Site.open("halfway").root.mkdir(parents=True)  # a site directory, no cluster yet
    with pytest.raises(ActionRequired) as err:
        collect_status("halfway")
    assert "no kubeconfig" in str(err.value) and "appliance bootstrap" in (err.value.hint or "")
    with pytest.raises(UsageError) as bad:  # no such site at all: bad input naming the flag
        collect_status("nosuch")
    assert bad.value.param == "--site-id"


def test_collect_snapshot_reads_the_site_directory(
    store: Store, direct_kubeconfig: Path, login: _Login
) -> None:
    from appliance_cli.site import Site

    seed_healthy(store)
    _seed_answer(store, "5\n")
    site = Site.open("lab")
    site.write("kubeconfig", direct_kubeconfig.read_text())
    site.write("node-ip", "127.0.0.1", mode=0o644)
    site.write("app-url", login.url, mode=0o644)
    snap = collect_snapshot("lab")
    assert snap.site.node_ip == "127.0.0.1" and snap.site.app_url == login.url
    assert snap.probes.seed_users is not None and snap.probes.seed_users.count == 5
    assert snap.probes.login is not None and snap.probes.login.status_code == 307


def test_statuses_of_a_site_remember_seed_users_across_runs_in_the_site_directory(
    store: Store, direct_kubeconfig: Path
) -> None:
    """One `appliance status` after another (each its own process, each a fresh
    ``collect_snapshot``): the positive count one read is kept in the site directory (0600)
    and reused while the same database container runs; a restarted container is asked again;
    a damaged memory file only costs an exec."""
    from appliance_cli.site import Site
    from appliance_cli.status.live import SEED_MEMORY_FILE

    seed_healthy(store)
    answer = ["7\n"]
    queries = _seed_queries(store, answer)
    site = Site.open("lab")
    site.write("kubeconfig", direct_kubeconfig.read_text())

    def count() -> int | None:
        snap = collect_snapshot("lab")
        assert snap.probes.seed_users is not None and snap.probes.seed_users.error is None
        return snap.probes.seed_users.count

    assert count() == 7 and len(queries) == 1
    memory = site.path(SEED_MEMORY_FILE)
    assert memory.stat().st_mode & 0o777 == 0o600
    answer[0] = "0\n"  # the users are still there as far as the memory knows
    assert count() == 7 and len(queries) == 1

    def restarted(pod: dict[str, Any]) -> None:
        for cs in pod["status"]["containerStatuses"]:
            cs["restartCount"] = int(cs.get("restartCount", 0)) + 1

    store.mutate(BY_KEY["v1/pods"], "msp", "db-0", restarted)
    assert count() == 0 and len(queries) == 2  # a new container: asked again, a zero not kept
    assert count() == 0 and len(queries) == 3
    answer[0] = "4\n"
    assert count() == 4 and len(queries) == 4
    assert list(json.loads(memory.read_text()).values()) == [4]  # only the running container's
    memory.write_text("{not json")
    assert count() == 4 and len(queries) == 5
    assert count() == 4 and len(queries) == 5
