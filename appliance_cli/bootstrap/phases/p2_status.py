"""Phase 2 — Status service: token and TLS certificate (reused or generated), namespaces,
Flux sources, ``alga-platform``, the status URL, token and certificate fingerprint shown
once, a brief ``/healthz`` wait."""

from __future__ import annotations

import base64
import secrets
from typing import TYPE_CHECKING, Any

from appliance_cli import fluxlayout, tls
from appliance_cli.bootstrap.facts import publish_facts
from appliance_cli.bootstrap.kubeops import can_read_cluster, get_or_none
from appliance_cli.bootstrap.phases.base import PhaseBase
from appliance_cli.bootstrap.waits import Seen, wait_until
from appliance_cli.errors import ApplianceError

if TYPE_CHECKING:
    from appliance_cli.bootstrap.context import BootstrapContext
    from appliance_cli.tls import StatusCert

Obj = dict[str, Any]
STATUS_NS = "appliance-system"
AUTH_SECRET = "appliance-status-auth"
HEALTHZ_BOUND = 60.0


def status_secret(token: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": AUTH_SECRET,
            "namespace": STATUS_NS,
            "labels": {"app.kubernetes.io/part-of": "alga-appliance"},
        },
        "type": "Opaque",
        "data": {"token": base64.b64encode(token.encode()).decode()},
    }


def cluster_token(ctx: BootstrapContext) -> str | None:
    if not can_read_cluster(ctx):
        return None
    try:
        secret = get_or_none(ctx, "v1/secrets", STATUS_NS, AUTH_SECRET)
    except ApplianceError:
        return None
    raw = ((secret or {}).get("data") or {}).get("token")
    return base64.b64decode(raw).decode() if raw else None


def tls_secret(cert: StatusCert) -> Obj:
    """The status service's certificate and key as a ``kubernetes.io/tls`` Secret (mounted by
    the status pod; bootstrap owns it, Flux never prunes it)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": tls.SECRET_NAME,
            "namespace": STATUS_NS,
            "labels": {"app.kubernetes.io/part-of": "alga-appliance"},
        },
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": base64.b64encode(cert.cert_pem).decode(),
            "tls.key": base64.b64encode(cert.key_pem).decode(),
        },
    }


def site_tls(ctx: BootstrapContext) -> StatusCert | None:
    """The site's pair (``status-tls.crt`` + ``status-tls.key``), or ``None`` when missing or unusable."""
    try:
        cert_pem = ctx.site.path(tls.CERT_FILE).read_bytes()
        key_pem = ctx.site.path(tls.KEY_FILE).read_bytes()
        return tls.load(cert_pem, key_pem)
    except (OSError, tls.TLSMaterialError):
        return None


def cluster_tls(ctx: BootstrapContext) -> StatusCert | None:
    if not can_read_cluster(ctx):
        return None
    try:
        secret = get_or_none(ctx, "v1/secrets", STATUS_NS, tls.SECRET_NAME)
        data = (secret or {}).get("data") or {}
        if not data.get("tls.crt") or not data.get("tls.key"):
            return None
        return tls.load(base64.b64decode(data["tls.crt"]), base64.b64decode(data["tls.key"]))
    except (ApplianceError, ValueError):  # TLSMaterialError and bad base64 are ValueErrors
        return None


def resolve_tls(ctx: BootstrapContext) -> tuple[StatusCert, str]:
    """(certificate, where it came from): the site's pair, else the cluster Secret, else a new
    one (made once per run). A pair that does not name this node (or ends within
    ``tls.RENEW_BEFORE_DAYS``) is replaced, with a warning saying why."""
    for source, found in (("site", site_tls), ("cluster", cluster_tls)):
        cert = found(ctx)
        if cert is None:
            continue
        problem = _reuse_problem(ctx, cert)
        if problem is None:
            return cert, source
        if ctx.state.status_tls is None:
            ctx.warn(f"the status page certificate is replaced ({problem}); the new fingerprint is shown")
        break
    if ctx.state.status_tls is None:
        ctx.state.status_tls = tls.generate(
            node_ip=ctx.endpoints.node_ip, hostname=ctx.options.hostname, namespace=STATUS_NS
        )
    return ctx.state.status_tls, "generated"


def _reuse_problem(ctx: BootstrapContext, cert: StatusCert) -> str | None:
    return tls.reuse_problem(
        cert, node_ip=ctx.endpoints.node_ip, hostname=ctx.options.hostname, namespace=STATUS_NS
    )


def resolve_token(ctx: BootstrapContext) -> tuple[str, str]:
    """(token, where it came from): the site file, else the cluster Secret, else a new one."""
    from_file = ctx.site.status_token()  # validated (site.validate_status_token)
    if from_file:
        return from_file, "site"
    from_cluster = cluster_token(ctx)
    if from_cluster:
        return from_cluster, "cluster"
    if ctx.state.new_token is None:
        ctx.state.new_token = secrets.token_urlsafe(32)
    return ctx.state.new_token, "generated"


class StatusService(PhaseBase):
    number = 2
    title = "Status service"

    def should_run(self, ctx: BootstrapContext) -> bool:
        if not ctx.journal.completed(self.number) or not can_read_cluster(ctx):
            return True
        try:
            token_ok = cluster_token(ctx) == ctx.site.read("status-token")
            site_cert = site_tls(ctx)
            tls_ok = (
                site_cert is not None
                and site_cert == cluster_tls(ctx)
                and _reuse_problem(ctx, site_cert) is None
            )
            ks = get_or_none(
                ctx, "kustomize.toolkit.fluxcd.io/v1/kustomizations", "flux-system", "alga-platform"
            )
            return not (token_ok and tls_ok and ks is not None)
        except ApplianceError:
            return True

    def run(self, ctx: BootstrapContext) -> None:
        a = ctx.actions
        token, source = resolve_token(ctx)
        with ctx.step(f"status token ({'reused from ' + source if source != 'generated' else 'generated'})"):
            if source != "site":
                a.write_file(ctx.site.status_token_file, token + "\n", mode=0o600, secret=True)
            for ns in fluxlayout.namespaces():
                a.apply(ctx.kube, ns)
            a.apply(ctx.kube, status_secret(token))
        cert, cert_source = resolve_tls(ctx)
        reused = f"reused from {cert_source}" if cert_source != "generated" else "generated"
        with ctx.step(f"status TLS certificate ({reused})"):
            if cert_source != "site":
                a.write_file(ctx.site.path(tls.KEY_FILE), cert.key_pem, mode=0o600, secret=True)
                a.write_file(ctx.site.path(tls.CERT_FILE), cert.cert_pem, mode=0o600)
            a.apply(ctx.kube, tls_secret(cert))
        ctx.state.status_tls = cert
        with ctx.step("Flux sources"):
            for repo in fluxlayout.git_repositories(
                ctx.release, appliance_repo_url=ctx.appliance_repo_url, appliance_branch=ctx.appliance_branch
            ):
                a.apply(ctx.kube, repo)
        with ctx.step("alga-platform Kustomization"):
            for ks in fluxlayout.tier_kustomizations(
                branch=ctx.appliance_branch,
                repo_url=ctx.appliance_repo_url,
                release=ctx.release,
                tiers=["platform"],
            ):
                a.apply(ctx.kube, ks)
        ctx.state.status_token = token
        publish_facts(ctx, "status service", "done")

    def after(self, ctx: BootstrapContext) -> None:
        a = ctx.actions
        token = ctx.state.status_token or resolve_token(ctx)[0]
        url = ctx.status_url
        cert = ctx.state.status_tls or site_tls(ctx)
        ctx.journal.set_fact("statusUrl", url)
        try:
            a.wait(
                "the status page /healthz (warns, never blocks)",
                HEALTHZ_BOUND,
                lambda: wait_until(
                    ctx,
                    "status page /healthz",
                    lambda: Seen(*ctx.adapters.healthz(ctx.status_health_url)),
                    bound_seconds=HEALTHZ_BOUND,
                    interval=2.0,
                    classify=False,
                    stop=ctx.state.stop,
                ),
                default=None,
            )
        except ApplianceError as exc:
            ctx.warn(f"the status page did not answer yet ({exc.message}); the install continues")
        # The one place the token is shown (never in progress events, logs or the journal):
        # at the moment the page answers (or, when it does not yet, right after that warning).
        ctx.announce(f"Appliance status UI: URL {url} Token {token}")
        if cert is not None:  # not secret: the admin compares it with what the browser shows
            ctx.announce(f"Status page certificate SHA-256 fingerprint: {cert.fingerprint}")

    def plan(self, ctx: BootstrapContext) -> None:
        self.run(ctx)
        ctx.actions.note(
            f"show the status UI URL {ctx.status_url}, its token and its certificate's SHA-256 fingerprint"
        )
