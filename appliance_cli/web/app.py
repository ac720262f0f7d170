"""The status service's routes (FastAPI).

Public: ``GET /healthz`` (says "ok", nothing else), the login form (``GET``/``POST /login``)
and the static assets it needs. Everything else needs a session cookie (from the login
form) or ``Authorization: Bearer <token>``: pages redirect to the login form, APIs answer
401. Every answer carries the security headers; authenticated answers are ``no-store``.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import string
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

# This module is imported only when the service starts (never at CLI start-up), so the web
# framework is imported at the top: FastAPI reads the route signatures' annotations.
from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from appliance_cli.status.model import status_json_schema
from appliance_cli.web.auth import QUERY_TOKEN_KEYS, SESSION_COOKIE, Authenticator
from appliance_cli.web.state import StatusState, View
from appliance_cli.web.support_bundle import add_support_bundle_route

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES = WEB_DIR / "templates"
STATIC = WEB_DIR / "static"

access_log = logging.getLogger("appliance_cli.web.access")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make browsers send Origin: null on POST
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
PUBLIC_PATHS = frozenset({"/healthz", "/login"})
MAX_FORM_BYTES = 4096
BODY_SECONDS = 10.0  # a login form body must arrive within this
# After a body is refused as too large, what is already on its way is still read (and thrown
# away) for a moment before the answer: a connection closed with unread data in it is reset,
# and a reset can destroy the 413 before the client reads it.
DRAIN_BYTES = 64 * 1024
DRAIN_SECONDS = 0.25
DRAIN_PAUSE_SECONDS = 0.05


def _template(name: str) -> string.Template:
    return string.Template((TEMPLATES / name).read_text())


def _client_key(scope: Any) -> str:
    """The address failed attempts are counted against (the proxy's client when trusted)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def _read_body(request: Request, limit: int) -> bytes | int:
    """The request body, or the status to refuse it with: 413 when it is larger than ``limit``
    bytes, 408 when it does not arrive within ``BODY_SECONDS``. A declared ``Content-Length``
    over the limit is refused before anything is read; a body without one (chunked) is read
    only up to the limit."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return 413
    chunks: list[bytes] = []
    size = 0
    stream = request.stream()

    async def read() -> bool:
        nonlocal size
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                return False
            chunks.append(chunk)
        return True

    async def drain() -> None:
        """Until the client pauses (nothing more on its way), has sent ``DRAIN_BYTES`` more, or
        ``DRAIN_SECONDS`` have passed."""
        extra = 0
        chunks_left = stream.__aiter__()
        while extra <= DRAIN_BYTES:
            extra += len(await asyncio.wait_for(chunks_left.__anext__(), DRAIN_PAUSE_SECONDS))

    try:
        complete = await asyncio.wait_for(read(), BODY_SECONDS)
    except TimeoutError:
        return 408
    if complete:
        return b"".join(chunks)
    with contextlib.suppress(Exception):  # timed out, or the client went away: answer anyway
        await asyncio.wait_for(drain(), DRAIN_SECONDS)
    return 413


def _query_has_token(request: Request) -> bool:
    return any(k.lower() in QUERY_TOKEN_KEYS for k in request.query_params)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


_HEADERS_RAW = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
_NO_STORE = (b"cache-control", b"no-store")


STATUS_PATH = "/api/status"
# an answer the fast path sent itself (its status code), or None: the app must answer
FastPath = Callable[[Any, Any], Awaitable[int | None]]


class _Guard:
    """The ASGI app the server runs, around the FastAPI app: auth decision, security headers,
    path-only access log.

    ``GET /api/status``, once allowed, is answered here from the published bytes (``fast``)
    without the framework's routing, dependency solving and response objects: it is what every
    open page polls. (Starlette's ``BaseHTTPMiddleware`` costs a task and a stream per
    request; this does not.)
    """

    def __init__(self, app: Any, decide: Any, fast: FastPath | None = None) -> None:
        self.app = app
        self.decide = decide
        self.fast = fast

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        static = path.startswith("/static/")
        status = {"code": 0}

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control" or static
                ]
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in _HEADERS_RAW if h[0] not in present)
                if not static:
                    headers.append(_NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        answer = await self.decide(scope, receive)
        if answer is None:
            code = None
            if self.fast is not None and path == STATUS_PATH and scope["method"] in ("GET", "HEAD"):
                code = await self.fast(scope, send)
            if code is None:
                await self.app(scope, receive, send_with_headers)
            else:
                status["code"] = code
        else:
            await answer(scope, receive, send_with_headers)
        if access_log.isEnabledFor(logging.INFO):
            access_log.info("%s %s %s", scope["method"], path, status["code"])


def status_answer(v: View, if_none_match: str | None) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """``/api/status`` from the published document: (status, headers, body). The body is the
    one serialised at publication; ``If-None-Match`` naming its entity tag gets 304 without it.
    The freshness headers are worked out per request (the age moves)."""
    pub = v.current
    assert pub is not None
    fresh = v.freshness()
    headers = [
        (b"etag", pub.etag.encode()),
        (b"x-status-collected-at", str(fresh["collectedAt"]).encode()),
        (b"x-status-age-seconds", str(fresh["ageSeconds"]).encode()),
        (b"x-status-stale", b"true" if fresh["stale"] else b"false"),
    ]
    if v.last_error:
        error = v.last_error.encode("ascii", "replace").decode()[:200].replace("\n", " ")
        headers.append((b"x-status-last-error", error.encode()))
    if if_none_match is not None and pub.etag_matches(if_none_match):
        return 304, headers, b""
    body = pub.status_json
    return (
        200,
        [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers],
        body,
    )


def _header(scope: Any, name: bytes) -> str | None:
    for k, v in scope["headers"]:
        if k == name:
            return str(v.decode("latin-1"))
    return None


def create_app(state: StatusState, auth: Authenticator) -> _Guard:
    """The status service's ASGI app: the guard (``_Guard``) around the FastAPI routes."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, title="Alga PSA appliance status")
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    login_tpl = _template("login.html")
    overview_html = (TEMPLATES / "overview.html").read_text()
    diagnostics_html = (TEMPLATES / "diagnostics.html").read_text()
    schema_json = JSONResponse(status_json_schema()).body

    def unauthorized(scope: Any, detail: str = "authentication required") -> Response:
        if scope["path"].startswith("/api/"):
            return JSONResponse({"detail": detail}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return RedirectResponse("/login", status_code=303)

    def too_many(seconds: float) -> Response:
        wait = max(1, int(seconds + 0.999))
        return JSONResponse(
            {"detail": "too many failed attempts; try again later"},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )

    def login_page(error: str = "", status_code: int = 200) -> Response:
        block = f'<p class="error" role="alert" id="login-error">{html.escape(error)}</p>' if error else ""
        return HTMLResponse(login_tpl.safe_substitute(error_block=block), status_code=status_code)

    async def decide(scope: Any, receive: Any) -> Response | None:
        """``None`` lets the request through; otherwise the answer to send instead. Read from
        the ASGI scope: a request object is made only where cookies or query parameters are
        read (a page's session, a query string), not for every poll with a bearer token."""
        path: str = scope["path"]
        if scope.get("query_string") and _query_has_token(Request(scope, receive)):
            # never accept a token in a URL, right or wrong
            return JSONResponse(
                {"detail": "credentials in the query string are not accepted"}, status_code=401
            )
        if path in PUBLIC_PATHS or path.startswith("/static/"):
            return None
        header = _header(scope, b"authorization")
        if header:
            scheme, _, given = header.partition(" ")
            verdict = auth.attempt(_client_key(scope), given.strip() if scheme.lower() == "bearer" else None)
            if verdict.ok:
                return None
            if verdict.delay:
                await asyncio.sleep(verdict.delay)
            return too_many(verdict.locked) if verdict.locked else unauthorized(scope, "invalid token")
        if auth.session_ok(Request(scope, receive).cookies.get(SESSION_COOKIE)):
            return None
        return unauthorized(scope)

    @app.get("/healthz")
    async def healthz() -> Response:
        return PlainTextResponse("ok")

    @app.get("/login")
    async def login_form(request: Request) -> Response:
        if auth.session_ok(request.cookies.get(SESSION_COOKIE)):
            return RedirectResponse("/", status_code=303)
        return login_page()

    @app.post("/login")
    async def login_submit(request: Request) -> Response:
        client = _client_key(request.scope)
        if not _same_origin(request):
            return login_page("This form must be sent from this page.", 403)
        locked = auth.locked_for(client)
        if locked:
            minutes = max(1, int(locked // 60 + 1))
            page = login_page(f"Too many failed attempts. Try again in {minutes} minute(s).", 429)
            page.headers["Retry-After"] = str(int(locked) + 1)
            return page
        body = await _read_body(request, MAX_FORM_BYTES)
        if isinstance(body, int):
            page = login_page("The form is too large." if body == 413 else "The form took too long.", body)
            page.headers["Connection"] = "close"  # the rest of the body is never read
            return page
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        given = (form.get("token") or [""])[0].strip()
        verdict = auth.attempt(client, given)  # checks the lockout and counts, in one step
        if verdict.ok:
            resp = RedirectResponse("/", status_code=303)
            resp.set_cookie(
                SESSION_COOKIE,
                auth.new_session(),
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/",
                max_age=int(auth.config.session_seconds),
            )
            return resp
        if verdict.delay:
            await asyncio.sleep(verdict.delay)
        if verdict.locked:
            page = login_page("Too many failed attempts. Try again later.", 429)
            page.headers["Retry-After"] = str(int(verdict.locked) + 1)
            return page
        return login_page("That token is not right. Check the token bootstrap printed.", 401)

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        if not _same_origin(request):
            return PlainTextResponse("cross-origin request refused", status_code=403)
        auth.end_session(request.cookies.get(SESSION_COOKIE))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return resp

    @app.get("/")
    async def overview() -> Response:
        return HTMLResponse(overview_html)

    @app.get("/diagnostics")
    async def diagnostics_page() -> Response:
        return HTMLResponse(diagnostics_html)

    def not_ready() -> Response:
        v = state.view()
        return JSONResponse(
            {"detail": "the first status collection has not finished yet", "lastError": v.last_error},
            status_code=503,
            headers={"Retry-After": str(max(1, int(state.interval)))},
        )

    @app.get(STATUS_PATH)
    async def api_status(request: Request) -> Response:
        v = state.view()
        if v.current is None:
            return not_ready()
        code, headers, body = status_answer(v, request.headers.get("if-none-match"))
        resp = Response(body, status_code=code)
        resp.raw_headers = headers
        return resp

    async def fast_status(scope: Any, send: Any) -> int | None:
        """``status_answer`` sent straight to the server (security headers included); None
        before the first collection (the route says 503)."""
        v = state.view()
        if v.current is None:
            return None
        code, headers, body = status_answer(v, _header(scope, b"if-none-match"))
        headers.extend(_HEADERS_RAW)
        headers.append(_NO_STORE)
        await send({"type": "http.response.start", "status": code, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return code

    @app.get("/api/diagnostics")
    async def api_diagnostics() -> Response:
        body = state.diagnostics_json()
        if body is None:
            return not_ready()
        return Response(body, media_type="application/json")

    add_support_bundle_route(app, state)

    @app.get("/api/status/schema")
    async def api_schema() -> Response:
        return Response(schema_json, media_type="application/json")

    return _Guard(app, decide, fast_status)
