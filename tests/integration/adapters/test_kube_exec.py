"""Exec over the raw WebSocket endpoint against the lab API over real HTTPS."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from appliance_lab.apiserver import LabApiServer
from appliance_lab.store import BY_KEY, Store

from appliance_cli.adapters.kube import KubeClient
from appliance_cli.adapters.kube_exec import exit_code_of
from appliance_cli.errors import KubeInvalid, KubeNotFound, KubeUnauthorized, KubeUnreachable

pytestmark = pytest.mark.timeout(60)
TOKEN = "kube-exec-test-token-0123456789"


@pytest.fixture
def store() -> Store:
    s = Store()
    s.create(BY_KEY["v1/namespaces"], {"metadata": {"name": "msp"}})
    for name, phase in (("db-0", "Running"), ("web-0", "Pending")):
        s.create(
            BY_KEY["v1/pods"],
            {
                "metadata": {"name": name, "namespace": "msp"},
                "spec": {"containers": [{"name": "main", "image": "postgres"}]},
                "status": {"phase": phase},
            },
        )
    return s


@pytest.fixture
def lab(store: Store) -> Iterator[LabApiServer]:
    srv = LabApiServer(store, token=TOKEN).start()

    def handler(ns: str, pod: str, container: str, command: list[str]) -> tuple[str, str, int] | None:
        if command[0] == "count":
            return "7\n", "", 0
        if command[0] == "fail":
            return "partial\n", "boom\n", 3
        if command[0] == "big":
            return "x" * 300_000, "", 0
        return None  # not found in the container

    srv.register_exec_handler(handler)
    yield srv
    srv.stop()


@pytest.fixture
def kubeconfig(lab: LabApiServer, tmp_path: Path) -> Path:
    return lab.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def kube(kubeconfig: Path) -> KubeClient:
    return KubeClient.from_kubeconfig(kubeconfig)


def test_exec_returns_stdout_stderr_and_the_exit_code(kube: KubeClient) -> None:
    before = kube.requests
    assert kube.exec("msp", "db-0", "main", ["count"]) == ("7\n", "", 0)
    assert kube.exec("msp", "db-0", "main", ["fail"]) == ("partial\n", "boom\n", 3)
    assert kube.requests == before + 2


def test_a_missing_executable_is_the_runtime_error_and_code_126(kube: KubeClient) -> None:
    out, err, code = kube.exec("msp", "db-0", "main", ["nope"])
    assert (out, code) == ("", 126)
    assert 'exec: "nope": executable file not found in $PATH' in err


def test_large_stdout_arrives_whole_in_the_sink(kube: KubeClient) -> None:
    sink = io.BytesIO()
    size, err, code = kube.exec_stream("msp", "db-0", "main", ["big"], sink=sink)
    assert (size, err, code) == (300_000, "", 0)
    assert sink.getvalue() == b"x" * 300_000


def test_http_answers_instead_of_the_upgrade_are_the_projects_errors(
    kube: KubeClient, kubeconfig: Path, tmp_path: Path
) -> None:
    with pytest.raises(KubeNotFound, match="gone-0"):
        kube.exec("msp", "gone-0", "main", ["count"])
    with pytest.raises(KubeInvalid, match="container not found"):
        kube.exec("msp", "web-0", "main", ["count"])
    bad = tmp_path / "bad-kubeconfig"
    bad.write_text(kubeconfig.read_text().replace(TOKEN, "wrong-token-0123456789"))
    with pytest.raises(KubeUnauthorized):
        KubeClient.from_kubeconfig(bad).exec("msp", "db-0", "main", ["count"])


def test_an_api_that_is_gone_is_unreachable(kube: KubeClient, lab: LabApiServer) -> None:
    lab.stop()
    with pytest.raises(KubeUnreachable, match="exec count in msp/db-0"):
        kube.exec("msp", "db-0", "main", ["count"], timeout=3)


def test_exec_imports_no_generated_api_or_model_module(kubeconfig: Path) -> None:
    """The seed-user probe of every `appliance status` must not load the client's generated API
    classes and models (CoreV1Api alone pulls in ~250 model modules)."""
    code = textwrap.dedent(
        f"""
        import json, sys
        from appliance_cli.adapters.kube import KubeClient
        kube = KubeClient.from_kubeconfig({str(kubeconfig)!r})
        kube.list_raw("v1/pods", "msp")
        result = kube.exec("msp", "db-0", "main", ["count"])
        heavy = sorted(m for m in sys.modules
            if m.startswith(("kubernetes.client.api.", "kubernetes.client.models.")))
        print(json.dumps({{"result": result, "heavy": heavy}}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    data = json.loads(out.strip().splitlines()[-1])
    assert data["result"] == ["7\n", "", 0]
    assert data["heavy"] == []


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (b'{"metadata":{},"status":"Success"}', (0, "")),
        (
            b'{"status":"Failure","message":"command terminated with non-zero exit code","reason":'
            b'"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"2"}]}}',
            (2, "command terminated with non-zero exit code"),
        ),
        (
            b'{"status":"Failure","message":"container not running","reason":"InternalError"}',
            (None, "container not running"),
        ),
        (b"", (None, "")),
        (b"plain text", (None, "plain text")),
    ],
)
def test_the_error_channel_status_gives_the_exit_code(
    status: bytes, expected: tuple[int | None, str]
) -> None:
    assert exit_code_of(status) == expected


@pytest.mark.parametrize("tls", [False, True])
def test_a_server_that_never_answers_the_upgrade_ends_in_the_bound(tmp_path: Path, tls: bool) -> None:
    """Accepts (and completes TLS), reads the request, never answers: exec must not hang."""
    import socket
    import threading
    import time

    from appliance_lab.api_tls import make_serving_cert
    from appliance_lab.apiserver import write_kubeconfig

    cert = make_serving_cert()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if tls:
                try:
                    conn = cert.server_context().wrap_socket(conn, server_side=True)
                except (OSError, ValueError):
                    continue
            held.append(conn)  # read nothing back, answer nothing

    threading.Thread(target=serve, daemon=True).start()
    try:
        scheme = "https" if tls else "http"
        kc = write_kubeconfig(
            tmp_path / "kc", f"{scheme}://127.0.0.1:{port}", TOKEN, ca_pem=cert.ca_pem if tls else None
        )
        kube = KubeClient.from_kubeconfig(kc, timeout=1.5)
        t = time.monotonic()
        with pytest.raises(KubeUnreachable, match="no answer within"):
            kube.exec("msp", "db-0", "main", ["count"], timeout=1)
        assert time.monotonic() - t < 10
    finally:
        listener.close()
        for c in held:
            c.close()
