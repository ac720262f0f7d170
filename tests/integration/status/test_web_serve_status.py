"""`appliance serve-status` and its collector: bad tokens and flags refused before anything
starts, Ctrl-C exits 130, a hung API shows as unreachable within one interval, and a changed
kubeconfig is picked up without a restart."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from appliance_lab.apiserver import LabApiServer, write_kubeconfig
from appliance_lab.store import Store

from appliance_cli.site import Site
from appliance_cli.web.server import LiveCollector, StatusServer, request_timeout
from tests.cli_runner import invoke
from tests.integration.status.conftest import TOKEN as KUBE_TOKEN
from tests.integration.status.conftest import lab_site, seed_healthy, status_service
from tests.integration.status.serve_process import stacks
from tests.unit.web.conftest import wait_for

pytestmark = pytest.mark.timeout(90)

STATUS_TOKEN = "serve-status-token-0a1b2c3d4e5f6a7b"


class HungApi:
    """A TCP server that accepts connections and never answers (a stopped API server)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.conns.append(conn)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.fixture
def hung() -> Iterator[HungApi]:
    api = HungApi()
    try:
        yield api
    finally:
        api.close()


# -- bad input, refused before anything starts ---------------------------------------------------
def test_a_too_short_site_token_is_refused_before_anything_starts(tmp_path: Path) -> None:
    s = lab_site("apiVersion: v1\nkind: Config\n", "short")
    r = invoke(["serve-status", "--site-id", "lab", "--port", "1"])
    assert r.exit_code == 2, r.output
    flat = "".join(r.output.split())  # the console wraps long lines
    assert str(s.status_token_file) in flat and "16to512characters" in flat
    assert "Status service on" not in r.output


def test_a_too_short_token_file_names_the_flag(tmp_path: Path) -> None:
    f = tmp_path / "token"
    f.write_text("abc\n")
    r = invoke(["serve-status", "--site-id", "lab", "--token-file", str(f)])
    assert r.exit_code == 2 and "--token-file" in r.output and "16to512" in "".join(r.output.split())


@pytest.mark.parametrize("content", [b"has spaces in the middle of it", b"\xff\xfe" * 10])
def test_a_token_with_spaces_or_not_ascii_is_refused(tmp_path: Path, content: bytes) -> None:
    s = Site.open("lab")
    s.write("status-token", content)
    from appliance_cli.errors import UsageError

    with pytest.raises(UsageError, match="printable ASCII"):
        s.status_token()


def test_a_valid_site_token_is_returned() -> None:
    s = Site.open("lab")
    assert s.status_token() is None  # no file yet
    s.write("status-token", STATUS_TOKEN + "\n")
    assert s.status_token() == STATUS_TOKEN


def test_in_cluster_outside_a_pod_is_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    r = invoke(["serve-status", "--in-cluster"])
    assert r.exit_code == 2, r.output
    assert "--in-cluster" in r.output and "notrunninginsideaKubernetespod" in "".join(r.output.split())


@pytest.mark.parametrize("value", ["nonsense", "10.0.0.0/33"])
def test_a_trusted_proxy_must_be_an_address(value: str) -> None:
    lab_site("apiVersion: v1\nkind: Config\n", STATUS_TOKEN)
    r = invoke(["serve-status", "--site-id", "lab", "--trusted-proxy", value])
    assert r.exit_code == 2 and "--trusted-proxy" in r.output


# -- Ctrl-C --------------------------------------------------------------------------------------
def test_ctrl_c_exits_130(hung: HungApi, tmp_path: Path) -> None:
    write_kubeconfig(tmp_path / "kc", hung.url, KUBE_TOKEN)
    lab_site((tmp_path / "kc").read_text(), STATUS_TOKEN)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance_cli", "serve-status", "--site-id", "lab", "--port", str(port)],
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},  # a hang shows its stacks (serve_process.stacks)
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stderr is not None
    stderr = proc.stderr

    def read() -> None:
        for line in stderr:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while not any("Status service on" in line for line in seen):
            assert time.monotonic() < deadline and proc.poll() is None, "".join(seen)
            with contextlib.suppress(queue.Empty):
                seen.append(lines.get(timeout=0.5))
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            seen.append(f"still running 30 s after Ctrl-C {stacks(proc)}")
        reader.join(5)  # the reader owns stderr until it ends
        assert proc.stdout is not None
        out = proc.stdout.read()
        while not lines.empty():
            seen.append(lines.get())
        err = "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Status service stopped." in err, (out, err)
    assert STATUS_TOKEN not in out + err


# -- a hung API, a moved API ---------------------------------------------------------------------
def _top(srv: StatusServer) -> str | None:
    view = srv.state.view()
    if view.current is None:
        return None
    blockers = view.current.doc.top_blockers
    return blockers[0].code if blockers else "none"


def test_each_request_is_bounded_by_half_the_interval() -> None:
    assert request_timeout(2.0) == 1.0
    assert request_timeout(5.0) == 2.5
    assert request_timeout(60.0) == 5.0
    assert request_timeout(0.5) == 1.0


def test_a_hung_api_shows_as_unreachable_within_one_interval(hung: HungApi, tmp_path: Path) -> None:
    write_kubeconfig(tmp_path / "kc", hung.url, KUBE_TOKEN)
    lab_site((tmp_path / "kc").read_text(), STATUS_TOKEN)
    interval = 2.0
    collector = LiveCollector(site_id="lab", kubeconfig=None, in_cluster=False, interval=interval)
    started = time.monotonic()
    snap, doc = collector()
    took = time.monotonic() - started
    assert not snap.reachability.kubernetes.reachable
    assert doc.top_blockers[0].code == "kubernetes_api_unreachable"
    assert took < interval + 1.0, f"a collection against a hung API took {took:.1f}s"


def test_a_changed_kubeconfig_is_picked_up_without_a_restart(
    hung: HungApi, store: Store, lab: LabApiServer, tmp_path: Path
) -> None:
    seed_healthy(store)
    write_kubeconfig(tmp_path / "hung", hung.url, KUBE_TOKEN)
    site = lab_site((tmp_path / "hung").read_text(), STATUS_TOKEN)
    with status_service(STATUS_TOKEN, interval=1, published=False) as srv:
        wait_for(lambda: _top(srv) == "kubernetes_api_unreachable", timeout=15)
        # the API moved: bootstrap (or the admin) writes a new kubeconfig
        write_kubeconfig(tmp_path / "lab", lab.url, KUBE_TOKEN)
        site.write("kubeconfig", (tmp_path / "lab").read_text())
        wait_for(lambda: _top(srv) not in (None, "kubernetes_api_unreachable"), timeout=15)
        view = srv.state.view()
        assert view.current is not None and view.current.doc.tiers.platform.ready
