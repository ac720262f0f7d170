"""Pod logs (``…/log``) and exec over WebSocket (``v4.channel.k8s.io``) via the official client."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from appliance_lab.apiserver import LabApiServer
from appliance_lab.store import BY_KEY, Store
from kubernetes.client import ApiException
from kubernetes.stream import stream

from .conftest import TOKEN

POD = BY_KEY["v1/pods"]


def _pod(
    store: Store, name: str, containers: list[str], phase: str = "Running", waiting: str | None = None
) -> None:
    statuses = [
        {
            "name": c,
            "ready": phase == "Running",
            "restartCount": 0,
            "state": {"waiting": {"reason": waiting}} if waiting else {"running": {}},
        }
        for c in containers
    ]
    store.create(
        POD,
        {
            "metadata": {"name": name, "namespace": "alga"},
            "spec": {"containers": [{"name": c, "image": "img"} for c in containers]},
            "status": {"phase": phase, "containerStatuses": statuses},
        },
    )


def test_log_tail_lines_and_container(store: Store, core: Any) -> None:
    _pod(store, "web", ["app", "proxy"])
    store.append_pod_log("alga", "web", "app", ["one", "two", "three"])
    store.append_pod_log("alga", "web", "proxy", ["p1"])
    assert core.read_namespaced_pod_log("web", "alga", container="app") == "one\ntwo\nthree\n"
    assert core.read_namespaced_pod_log("web", "alga", container="app", tail_lines=2) == "two\nthree\n"
    assert core.read_namespaced_pod_log("web", "alga", container="proxy") == "p1\n"


def test_log_previous_container_instance(store: Store, core: Any) -> None:
    _pod(store, "db-0", ["postgres"])
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_pod_log("db-0", "alga", previous=True)
    assert exc.value.status == 400
    assert (
        json.loads(exc.value.body)["message"]
        == 'previous terminated container "postgres" in pod "db-0" not found'
    )
    store.append_pod_log("alga", "db-0", "postgres", ["FATAL: boom"])
    store.restart_pod_log("alga", "db-0", "postgres")
    store.append_pod_log("alga", "db-0", "postgres", ["starting"])
    assert core.read_namespaced_pod_log("db-0", "alga", previous=True) == "FATAL: boom\n"
    assert core.read_namespaced_pod_log("db-0", "alga") == "starting\n"


@pytest.mark.parametrize(
    ("name", "kwargs", "code", "message"),
    [
        ("multi", {}, 400, "a container name must be specified for pod multi, choose one of: [a b]"),
        ("multi", {"container": "zzz"}, 400, "container zzz is not valid for pod multi"),
        ("waiting", {}, 400, 'container "app" in pod "waiting" is waiting to start: ContainerCreating'),
        ("absent", {}, 404, 'pods "absent" not found'),
        (
            "pulling",
            {},
            400,
            'container "app" in pod "pulling" is waiting to start: trying and failing to pull image',
        ),
    ],
)
def test_log_errors_use_real_wording(
    store: Store, core: Any, name: str, kwargs: dict[str, str], code: int, message: str
) -> None:
    _pod(store, "multi", ["a", "b"])
    _pod(store, "waiting", ["app"], phase="Pending", waiting="ContainerCreating")
    _pod(store, "pulling", ["app"], phase="Pending", waiting="ImagePullBackOff")
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_pod_log(name, "alga", **kwargs)
    assert exc.value.status == code
    assert json.loads(exc.value.body)["message"] == message


def _seed_users(ns: str, pod: str, container: str, command: list[str]) -> tuple[str, str, int] | None:
    if pod == "db-0" and command[:1] == ["psql"]:
        return (" count \n-------\n     3\n(1 row)\n\n", "", 0)
    if command[:1] == ["false"]:
        return ("", "", 1)
    if command[:1] == ["sh"]:
        return ("partial\n", "oops\n", 3)
    return None


def test_exec_runs_registered_handler_over_websocket(store: Store, server: LabApiServer, core: Any) -> None:
    _pod(store, "db-0", ["postgres"])
    server.register_exec_handler(_seed_users)
    out = stream(
        core.connect_get_namespaced_pod_exec,
        "db-0",
        "alga",
        command=["psql", "-U", "postgres", "-tAc", "select count(*) from users"],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
    )
    assert "     3" in out


@pytest.mark.parametrize(
    ("command", "stdout", "stderr", "code"),
    [
        (["psql", "-c", "x"], " count \n-------\n     3\n(1 row)\n\n", "", 0),
        (["false"], "", "", 1),
        (["sh", "-c", "exit 3"], "partial\n", "oops\n", 3),
        (
            ["nope"],
            "",
            'OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": '
            "executable file not found in $PATH: unknown\n",
            126,
        ),
    ],
)
def test_exec_channels_and_exit_codes(
    store: Store, core: Any, command: list[str], stdout: str, stderr: str, code: int
) -> None:
    _pod(store, "db-0", ["postgres"])
    store.register_exec_handler(_seed_users)
    resp = stream(
        core.connect_get_namespaced_pod_exec,
        "db-0",
        "alga",
        command=command,
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    resp.run_forever(timeout=10)
    assert resp.read_stdout() == stdout
    assert resp.read_stderr() == stderr
    assert resp.returncode == code


def test_exec_on_missing_pod_is_404(http: httpx.Client, server: LabApiServer) -> None:
    r = http.get(
        f"{server.url}/api/v1/namespaces/alga/pods/none/exec?command=ls&stdout=true",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert r.status_code == 404 and r.json()["reason"] == "NotFound"


def test_exec_without_upgrade_is_bad_request(http: httpx.Client, store: Store, server: LabApiServer) -> None:
    _pod(store, "db-0", ["postgres"])
    r = http.post(
        f"{server.url}/api/v1/namespaces/alga/pods/db-0/exec?command=ls&stdout=true",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert r.status_code == 400 and r.json()["message"] == "Upgrade request required"


def test_log_follow_streams_new_lines_until_the_pod_goes(
    store: Store, server: LabApiServer, http: httpx.Client
) -> None:
    _pod(store, "web", ["app"])
    store.append_pod_log("alga", "web", "app", ["first"])
    url = f"{server.url}/api/v1/namespaces/alga/pods/web/log?follow=true"
    with http.stream("GET", url, headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        lines = r.iter_lines()
        assert next(lines) == "first"
        store.append_pod_log("alga", "web", "app", ["second"])
        assert next(lines) == "second"
        store.delete(POD, "alga", "web")
        assert list(lines) == []


def test_log_follow_ends_when_the_container_restarts(
    store: Store, server: LabApiServer, http: httpx.Client
) -> None:
    _pod(store, "web", ["app"])
    store.append_pod_log("alga", "web", "app", ["first run"])
    url = f"{server.url}/api/v1/namespaces/alga/pods/web/log?follow=true"
    with http.stream("GET", url, headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        lines = r.iter_lines()
        assert next(lines) == "first run"
        store.append_pod_log("alga", "web", "app", ["last words"])
        store.restart_pod_log("alga", "web", "app")  # a new instance: its log starts empty
        store.append_pod_log("alga", "web", "app", ["second run"])
        # the old instance's last lines, then the end of its stream; a client reconnects
        assert list(lines) == ["last words"]
    assert (
        http.get(
            url.replace("follow=true", "follow=false"), headers={"Authorization": f"Bearer {TOKEN}"}
        ).text
        == "second run\n"
    )
