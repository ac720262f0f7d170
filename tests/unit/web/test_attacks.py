"""Attacks on the status service over real loopback sockets: oversized and slow login bodies,
idle and trickling connections, forged X-Forwarded-For, concurrent guessing, sessions that
outlive their token — and the kept-alive latency that TCP_NODELAY buys."""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from appliance_cli import tls
from appliance_cli.web import auth as auth_mod
from appliance_cli.web.auth import AuthConfig, Authenticator
from appliance_cli.web.server import StatusServer
from tests.unit.web.conftest import TOKEN, healthy, wait_for

pytestmark = pytest.mark.timeout(60)

FAST_AUTH = AuthConfig(slow_after=100, max_failures=5, delay_step_seconds=0.0, max_delay_seconds=0.0)


def _server(**kw: object) -> StatusServer:
    args: dict[str, object] = {
        "kubeconfig": None,
        "in_cluster": False,
        "token": TOKEN,
        "host": "127.0.0.1",
        "port": 0,
        "site_id": "lab",
        "collect": healthy,
        "auth_config": FAST_AUTH,
    }
    args.update(kw)
    srv = StatusServer(**args)  # type: ignore[arg-type]
    return srv


@pytest.fixture
def srv() -> Iterator[StatusServer]:
    s = _server(header_timeout=0.5).start()
    wait_for(lambda: s.state.view().current is not None)
    try:
        yield s
    finally:
        s.stop()


def _connect(s: StatusServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    return sock


def _read_response(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection (or ``timeout``)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        pass
    return data


def _closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closed ``sock``; fails when it stays open ``seconds``."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        raise AssertionError(f"the connection was still open after {seconds}s") from None
    except ConnectionResetError:
        pass
    return time.monotonic() - started


# -- login bodies --------------------------------------------------------------------------------
def test_a_huge_declared_login_body_is_refused_before_it_is_read(srv: StatusServer) -> None:
    with _connect(srv) as sock:
        sock.sendall(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 1073741824\r\n\r\n" + b"token=" + b"a" * 1000
        )
        started = time.monotonic()
        answer = _read_response(sock, timeout=5)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"connection: close" in answer.lower()
    assert time.monotonic() - started < 3  # answered without waiting for the gigabyte


def test_a_chunked_login_body_is_cut_at_the_limit(srv: StatusServer) -> None:
    with _connect(srv) as sock:
        sock.sendall(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"a" * 1024
        for _ in range(8):  # 8 KiB, twice the limit; the body never ends
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = _read_response(sock, timeout=5)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


def test_a_small_login_body_still_signs_in(srv: StatusServer) -> None:
    with httpx.Client(base_url=srv.url, timeout=5) as c:
        assert c.post("/login", data={"token": TOKEN}).status_code == 303


def test_an_endless_body_on_a_route_that_takes_none_does_not_hold_the_connection(srv: StatusServer) -> None:
    with _connect(srv) as sock:
        sock.sendall(b"POST /logout HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n" + b"a" * 1024)
        started = time.monotonic()
        answer = _read_response(sock, timeout=5)  # until the server closes
        assert time.monotonic() - started < 3
    assert answer.startswith(b"HTTP/1.1 ")


# -- slow and idle connections -------------------------------------------------------------------
def test_an_idle_connection_is_closed_after_the_header_timeout(srv: StatusServer) -> None:
    socks = [_connect(srv) for _ in range(20)]
    try:
        for sock in socks:
            assert _closed_within(sock, 5) < 5
    finally:
        for sock in socks:
            sock.close()


def test_trickled_headers_are_cut_off(srv: StatusServer) -> None:
    with _connect(srv) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 5:
            try:
                sock.sendall(b"X-a: b\r\n")
            except OSError:
                closed = True
                break
            sock.settimeout(0.1)
            try:
                if sock.recv(4096) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
        assert closed, "a connection trickling headers was kept open"
        assert time.monotonic() - started < 3


def test_a_head_over_the_bound_is_refused_with_431_and_the_connection_closed(srv: StatusServer) -> None:
    with _connect(srv) as sock:
        # one header line longer than the bound, never ended (one send: loopback delivers it
        # whole, so the server has read everything when it closes, and the answer is not reset)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * (20 * 1024))
        started = time.monotonic()
        answer = _read_response(sock, timeout=5)  # until the server closes
        assert time.monotonic() - started < 3
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"connection: close" in answer.lower()


def test_a_body_that_arrives_with_its_head_does_not_count_toward_the_head_bound(srv: StatusServer) -> None:
    with _connect(srv) as sock:
        body = b"token=" + b"a" * (32 * 1024)  # over the head bound, and over the login limit
        sock.sendall(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        answer = _read_response(sock, timeout=5)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]  # the body's answer, not the head's 431


def test_a_large_but_bounded_head_is_still_answered(srv: StatusServer) -> None:
    with _connect(srv) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * 8000 + b"\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")


def test_a_kept_alive_connection_gets_the_same_header_bound(srv: StatusServer) -> None:
    with _connect(srv) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # and never the rest
        assert _closed_within(sock, 5) < 5


def test_a_second_request_on_a_kept_alive_connection_answers_without_a_delayed_ack_stall(
    srv: StatusServer,
) -> None:
    # Without TCP_NODELAY the response's second segment waits for the client's delayed ACK
    # (~40 ms on Linux). The median of many second-and-later requests is far below that.
    with httpx.Client(base_url=srv.url, timeout=5) as c:
        c.get("/healthz")
        times = []
        for _ in range(30):
            started = time.perf_counter()
            r = c.get("/api/status", headers={"Authorization": f"Bearer {TOKEN}"})
            times.append(time.perf_counter() - started)
            assert r.status_code == 200
    assert statistics.median(times) < 0.005, f"median {statistics.median(times) * 1000:.1f} ms"


# -- brute force ---------------------------------------------------------------------------------
def test_x_forwarded_for_from_a_direct_client_neither_dodges_nor_frames(srv: StatusServer) -> None:
    with httpx.Client(base_url=srv.url, timeout=5) as c:
        codes = [
            c.get(
                "/api/status",
                headers={"Authorization": f"Bearer wrong-{i:020d}", "X-Forwarded-For": f"10.1.{i}.1"},
            ).status_code
            for i in range(12)
        ]
        assert codes[:4] == [401] * 4 and set(codes[4:]) == {429}
        # the attacker's own address is the one locked out, whatever it claims to be
        right = c.get(
            "/api/status", headers={"Authorization": f"Bearer {TOKEN}", "X-Forwarded-For": "10.9.9.9"}
        )
        assert right.status_code == 429


def test_x_forwarded_for_is_used_only_from_a_configured_proxy() -> None:
    s = _server(trusted_proxies=["127.0.0.1"]).start()
    try:
        with httpx.Client(base_url=s.url, timeout=5) as c:
            for i in range(6):
                c.get(
                    "/api/status",
                    headers={"Authorization": f"Bearer wrong-{i:020d}", "X-Forwarded-For": "10.0.0.1"},
                )
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            assert c.get("/api/status", headers={**bearer, "X-Forwarded-For": "10.0.0.1"}).status_code == 429
            assert c.get("/api/status", headers={**bearer, "X-Forwarded-For": "10.0.0.2"}).status_code == 200
    finally:
        s.stop()


@pytest.mark.parametrize("via", ["form", "bearer"])
def test_concurrent_guesses_cannot_get_more_evaluations_than_the_limit(
    via: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hmac
    from types import SimpleNamespace

    evaluated = []

    def counting_compare(a: bytes, b: bytes) -> bool:
        evaluated.append(1)
        return hmac.compare_digest(a, b)

    # every token comparison of the service goes through its module's ``hmac``
    monkeypatch.setattr(auth_mod, "hmac", SimpleNamespace(compare_digest=counting_compare))
    s = _server().start()
    guesses = 60
    barrier = threading.Barrier(guesses)
    codes: list[int] = []
    lock = threading.Lock()

    shared = tls.default_client_context()  # not the CA bundle loaded again by each of 60 clients

    def guess(i: int) -> None:
        with httpx.Client(base_url=s.url, timeout=20, verify=shared) as c:
            barrier.wait()
            if via == "form":
                r = c.post("/login", data={"token": f"wrong-{i:020d}"})
            else:
                r = c.get("/api/status", headers={"Authorization": f"Bearer wrong-{i:020d}"})
            with lock:
                codes.append(r.status_code)

    try:
        threads = [threading.Thread(target=guess, args=(i,)) for i in range(guesses)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        s.stop()
    assert len(codes) == guesses
    assert 0 < len(evaluated) <= FAST_AUTH.max_failures
    assert codes.count(429) >= guesses - FAST_AUTH.max_failures + 1


# -- sessions and token rotation -----------------------------------------------------------------
def test_a_session_is_refused_once_the_token_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth_mod, "TOKEN_RELOAD_SECONDS", 0.2)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    s = _server(token_file=token_file).start()
    try:
        with httpx.Client(base_url=s.url, timeout=5) as c:
            assert c.post("/login", data={"token": TOKEN}).status_code == 303
            assert c.get("/api/status").status_code == 200  # the session cookie works
            new = "rotated-token-abcdef0123456789"
            tmp = tmp_path / "token.new"
            tmp.write_text(new + "\n")
            os.replace(tmp, token_file)  # how a Secret volume swaps its file
            wait_for(lambda: c.get("/api/status").status_code == 401, timeout=5)
            time.sleep(0.5)
            assert c.get("/api/status").status_code == 401
            assert c.get("/", follow_redirects=False).status_code == 303  # pages too
            assert c.post("/login", data={"token": new}).status_code == 303
            assert c.get("/api/status").status_code == 200
    finally:
        s.stop()


def test_a_session_is_bound_to_the_token_it_was_issued_for() -> None:
    a = Authenticator(token=TOKEN)
    sid = a.new_session()
    assert a.session_ok(sid)
    a.token = "another-token-0123456789abcdef"  # however the token changes
    assert not a.session_ok(sid)
