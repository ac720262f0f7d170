"""The real ports of a bootstrap run, built on the composition root (``appliance_cli.env``).

Tests hand ``engine.run`` their own ``Adapters``; everything else gets these.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from appliance_cli.adapters.kubeapi import KubeApi
from appliance_cli.bootstrap.context import Adapters, BootstrapContext
from appliance_cli.errors import ApplianceError

if TYPE_CHECKING:
    from appliance_cli.env import Clock
    from appliance_cli.status.image_preflight import ReleaseCheck
    from appliance_cli.status.model import StatusDocument


def live_status(ctx: BootstrapContext) -> StatusDocument | None:
    """Collect a snapshot of the site's cluster and classify it; None when not possible yet."""
    if not ctx.kubeconfig_path.is_file():
        return None
    from appliance_cli.status.classify import classify
    from appliance_cli.status.live import collect_snapshot, site_options

    try:
        options = site_options(ctx.site, node_ip=ctx.options.node_ip, env=ctx.env)
        options.seed_users_seen = ctx.state.seed_users_seen
        client = ctx.status_kube()  # None: collect_snapshot says why the kubeconfig is unusable
        snapshot = collect_snapshot(
            ctx.site.site_id, kubeconfig=ctx.kubeconfig_path, options=options, client=client
        )
    except ApplianceError:
        return None
    return classify(snapshot, release=ctx.release)


def image_check(ctx: BootstrapContext) -> ReleaseCheck | None:
    """The registry preflight (``status.image_preflight.check_release``).

    When the site's target routes image checks to a registry of its own (the lab serves
    one on loopback, plain HTTP, no credentials), every registry host of the release is
    mapped to it: the same check, answered there.
    """
    from appliance_cli.status.image_preflight import check_release

    mirror = ctx.env.registry_mirror
    if mirror is None:
        return check_release(ctx.release)
    hosts = {ref.registry for ref in ctx.release.images.values()}
    return check_release(
        ctx.release,
        mirrors=dict.fromkeys(sorted(hosts), mirror),
        insecure_registries=[mirror],
        credentials={},
    )


def healthz_probe(url: str) -> tuple[bool, str]:
    import httpx

    from appliance_cli.tls import default_client_context

    try:
        r = httpx.get(f"{url.rstrip('/')}/healthz", timeout=3.0, verify=default_client_context())
    except httpx.HTTPError as exc:
        return False, f"{url}/healthz: {exc.__class__.__name__}"
    return r.status_code == 200, f"{url}/healthz answered {r.status_code}"


def _kube(path: Path, clock: Clock | None) -> KubeApi:
    from appliance_cli.adapters.kube import KubeClient

    client: KubeApi = KubeClient.from_kubeconfig(path, clock=clock)
    return client


def default_adapters() -> Adapters:
    from appliance_cli.env import open_env

    return Adapters(
        env=open_env, kube=_kube, status=live_status, image_check=image_check, healthz=healthz_probe
    )
