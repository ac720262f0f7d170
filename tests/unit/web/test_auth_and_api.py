"""The status service over real HTTP: what needs auth, how auth works, what every answer carries."""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

import httpx
import pytest

from appliance_cli.status.model import StatusDocument
from appliance_cli.status.snapshot import ClusterSnapshot
from appliance_cli.web.app import TEMPLATES
from appliance_cli.web.auth import AuthConfig, Authenticator
from appliance_cli.web.server import StatusServer
from tests.unit.web.conftest import TOKEN, healthy, start, wait_for

pytestmark = pytest.mark.timeout(60)

API_ROUTES = ["/api/status", "/api/diagnostics", "/api/status/schema"]
PAGES = ["/", "/diagnostics", "/no-such-page"]
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize("path", API_ROUTES)
def test_api_without_auth_is_401(http: httpx.Client, path: str) -> None:
    r = http.get(path)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json() == {"detail": "authentication required"}


@pytest.mark.parametrize("path", PAGES)
def test_pages_without_auth_redirect_to_the_login_form(http: httpx.Client, path: str) -> None:
    r = http.get(path)
    assert (r.status_code, r.headers["location"]) == (303, "/login")


def test_healthz_and_login_form_need_no_auth_and_reveal_nothing(http: httpx.Client) -> None:
    h = http.get("/healthz")
    assert (h.status_code, h.text) == (200, "ok")
    form = http.get("/login")
    assert form.status_code == 200 and 'name="token"' in form.text
    assert "rollup" not in form.text and "alga-core" not in form.text


@pytest.mark.parametrize("path", [*API_ROUTES, *PAGES, "/healthz"])
@pytest.mark.parametrize("key", ["token", "access_token"])
def test_a_token_in_the_query_string_is_refused_even_when_right(
    http: httpx.Client, path: str, key: str
) -> None:
    assert http.get(path, params={key: TOKEN}).status_code == 401
    assert http.get(path, params={key: TOKEN}, headers=BEARER).status_code == 401


@pytest.mark.parametrize("path", API_ROUTES)
def test_bearer_token_opens_the_api(http: httpx.Client, path: str) -> None:
    r = http.get(path, headers=BEARER)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")


def test_api_status_is_the_canonical_document(http: httpx.Client) -> None:
    r = http.get("/api/status", headers=BEARER)
    doc = StatusDocument.model_validate_json(r.content)
    assert doc.rollup.state == "fully_healthy"
    assert float(r.headers["x-status-age-seconds"]) >= 0


def test_wrong_bearer_is_401(http: httpx.Client) -> None:
    r = http.get("/api/status", headers={"Authorization": "Bearer nope-nope-nope-nope"})
    assert r.status_code == 401 and r.json()["detail"] == "invalid token"


def test_login_sets_an_httponly_samesite_strict_session_cookie_that_is_not_the_token(
    http: httpx.Client,
) -> None:
    r = http.post("/login", data={"token": TOKEN})
    assert (r.status_code, r.headers["location"]) == (303, "/")
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert TOKEN not in cookie
    assert http.get("/").status_code == 200
    assert http.get("/api/status").status_code == 200


def test_wrong_token_in_the_form_shows_an_error(http: httpx.Client) -> None:
    r = http.post("/login", data={"token": "not-the-token-at-all"})
    assert r.status_code == 401
    assert 'id="login-error"' in r.text and "not right" in r.text
    assert "set-cookie" not in r.headers


def test_logout_ends_the_session_server_side(authed: httpx.Client) -> None:
    sid = authed.cookies.get("alga_status_session")
    assert sid
    r = authed.post("/logout")
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    authed.cookies.clear()
    authed.cookies.set("alga_status_session", sid)  # replay the old cookie
    assert authed.get("/").status_code == 303
    assert authed.get("/api/status").status_code == 401


def test_cross_origin_login_post_is_refused(http: httpx.Client) -> None:
    r = http.post("/login", data={"token": TOKEN}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and "set-cookie" not in r.headers


@pytest.mark.parametrize("via", ["bearer", "form"])
def test_brute_force_is_slowed_then_refused_with_429_even_for_the_right_token(via: str) -> None:
    cfg = AuthConfig(slow_after=2, max_failures=5, delay_step_seconds=0.01, max_delay_seconds=0.02)
    srv = start(auth_config=cfg)
    try:
        with httpx.Client(base_url=srv.url, timeout=10) as c:
            codes = []
            for i in range(5):
                if via == "bearer":
                    codes.append(
                        c.get("/api/status", headers={"Authorization": f"Bearer wrong-{i:020d}"}).status_code
                    )
                else:
                    codes.append(c.post("/login", data={"token": f"wrong-{i:020d}"}).status_code)
            assert codes == [401, 401, 401, 401, 429]
            right = c.get("/api/status", headers=BEARER)
            assert right.status_code == 429 and int(right.headers["retry-after"]) > 0
            assert c.post("/login", data={"token": TOKEN}).status_code == 429
    finally:
        srv.stop()


def test_failures_are_slowed_progressively() -> None:
    auth = Authenticator(
        token=TOKEN, config=AuthConfig(slow_after=3, max_failures=10, delay_step_seconds=0.25)
    )
    delays = [auth.attempt("10.0.0.9", f"wrong-{i:020d}").delay for i in range(9)]
    assert delays == [0, 0, 0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5]
    assert auth.locked_for("10.0.0.9") == 0
    assert auth.attempt("10.0.0.9", "wrong").locked > 0
    assert auth.locked_for("10.0.0.9") > 0
    assert not auth.attempt("10.0.0.9", TOKEN).ok  # locked out: even the right token is refused
    assert auth.attempt("10.0.0.10", TOKEN).ok  # per client


@pytest.mark.parametrize(
    "path", ["/healthz", "/login", "/", "/diagnostics", *API_ROUTES, "/api/status?token=x"]
)
@pytest.mark.parametrize("signed_in", [False, True])
def test_security_headers_on_every_answer(
    http: httpx.Client, authed: httpx.Client, path: str, signed_in: bool
) -> None:
    r = (authed if signed_in else http).get(path)
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("name", ["login.html", "overview.html", "diagnostics.html"])
def test_templates_have_no_inline_script_or_external_assets(name: str) -> None:
    text = (TEMPLATES / name).read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text)
    assert not re.search(r"\son[a-z]+\s*=", text)
    assert not re.search(r"(src|href)=\"(https?:)?//", text)


def test_static_assets_are_served_without_external_references(http: httpx.Client) -> None:
    for asset in ("app.css", "common.js", "overview.js", "diagnostics.js"):
        r = http.get(f"/static/{asset}")
        assert r.status_code == 200
        assert "http://" not in r.text and "https://" not in r.text
    assert "innerHTML" not in http.get("/static/common.js").text


def test_responses_and_logs_never_contain_the_token(
    http: httpx.Client, authed: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies = []
    for path in ["/healthz", "/login", "/", "/diagnostics", *API_ROUTES]:
        bodies.append(authed.get(path).text)
        bodies.append(http.get(path, headers=BEARER).text)
    http.get("/api/status", params={"token": TOKEN})
    http.post("/login", data={"token": TOKEN})
    assert all(TOKEN not in b for b in bodies)
    server_logs = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith(("appliance_cli", "uvicorn", "fastapi"))
    )
    assert TOKEN not in server_logs
    assert "GET /api/status 401" in server_logs  # the access log has the path, not the query


def test_before_the_first_collection_the_api_answers_503_and_pages_still_load() -> None:
    gate = threading.Event()

    def slow() -> tuple[ClusterSnapshot, StatusDocument]:
        gate.wait(10)
        return healthy()

    srv = start(slow)
    try:
        with httpx.Client(base_url=srv.url, timeout=10) as c:
            r = c.get("/api/status", headers=BEARER)
            assert r.status_code == 503 and "first status collection" in r.json()["detail"]
            assert c.get("/", headers=BEARER).status_code == 200
            gate.set()
            wait_for(lambda: srv.state.view().current is not None)
            assert c.get("/api/status", headers=BEARER).status_code == 200
    finally:
        gate.set()
        srv.stop()


def test_a_failed_collection_keeps_the_last_good_state_and_says_how_old_it_is() -> None:
    calls = {"n": 0}

    def flaky() -> tuple[ClusterSnapshot, StatusDocument]:
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("boom: classifier exploded")
        return healthy()

    srv = start(flaky, interval=0.05)
    try:
        wait_for(lambda: srv.state.view().collections >= 3)
        with httpx.Client(base_url=srv.url, timeout=10) as c:
            r = c.get("/api/status", headers=BEARER)
            assert r.status_code == 200
            assert StatusDocument.model_validate_json(r.content).rollup.state == "fully_healthy"
            assert "boom" in r.headers["x-status-last-error"]
            fresh = c.get("/api/diagnostics", headers=BEARER).json()["freshness"]
            assert "boom" in fresh["lastError"] and fresh["failingSince"] and fresh["ageSeconds"] >= 0
    finally:
        srv.stop()


def test_requests_never_trigger_a_collection(server: StatusServer, http: httpx.Client) -> None:
    before = server.state.view().collections
    for _ in range(20):
        http.get("/api/status", headers=BEARER)
    assert server.state.view().collections == before


def test_schema_route_serves_the_committed_schema(http: httpx.Client) -> None:
    import json

    committed = json.loads(
        (Path(__file__).resolve().parents[3] / "schemas" / "status.schema.json").read_text()
    )
    assert http.get("/api/status/schema", headers=BEARER).json() == committed


def test_a_rotated_token_file_replaces_the_token_and_ends_sessions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from appliance_cli.web import auth as auth_mod

    monkeypatch.setattr(auth_mod, "TOKEN_RELOAD_SECONDS", 0.0)
    f = tmp_path / "token"
    f.write_text(TOKEN)
    a = Authenticator(token=TOKEN, token_file=f)
    sid = a.new_session()
    assert a.token_ok(TOKEN) and a.session_ok(sid)
    new = "rotated-token-0123456789abcdef"
    f.write_text(new)
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 1_000_000_000))
    assert a.token_ok(new) and not a.token_ok(TOKEN)
    assert not a.session_ok(sid)
    f.write_text("short")  # a broken file keeps the current token
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 2_000_000_000))
    assert a.token_ok(new)


def test_a_busy_port_is_an_error_not_a_hang() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        srv = StatusServer(
            kubeconfig=None,
            in_cluster=False,
            token=TOKEN,
            host="127.0.0.1",
            port=port,
            site_id="lab",
            collect=healthy,
        )
        with pytest.raises(OSError, match="could not listen"):
            srv.start(timeout=10)
