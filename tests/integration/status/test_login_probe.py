"""The login probe: one GET over loopback with the standard library, redirects not followed."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from appliance_cli.status.collect import login_probe


@pytest.fixture
def server() -> Iterator[str]:
    class H(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/login?next=x":
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                return
            self.send_response(307)
            self.send_header("Location", "/msp/dashboard")
            self.send_header("Content-Length", "0")
            self.end_headers()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_a_redirect_is_recorded_not_followed(server: str) -> None:
    probe = login_probe(server + "/")
    assert probe is not None
    assert (probe.status_code, probe.location, probe.error) == (307, "/msp/dashboard", None)


def test_path_and_query_are_sent(server: str) -> None:
    probe = login_probe(server + "/login?next=x")
    assert probe is not None and probe.status_code == 200 and probe.location is None


def test_a_refused_port_is_an_error_in_the_sockets_words() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    probe = login_probe(f"http://127.0.0.1:{port}/")
    assert probe is not None and probe.status_code is None
    assert probe.error is not None and probe.error.startswith("ConnectionRefusedError")


def test_no_url_no_probe_and_a_bad_url_is_an_error() -> None:
    assert login_probe(None) is None
    probe = login_probe("ftp://example.invalid/")
    assert probe is not None and probe.error == "ValueError: not an http(s) URL: ftp://example.invalid/"
