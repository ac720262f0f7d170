"""The composition root: endpoints resolved once, real adapters for hardware, the clock port."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from appliance_cli import endpoints
from appliance_cli.env import ScaledClock, SystemClock, TargetInfo, open_env
from appliance_cli.site import Site


@pytest.mark.parametrize(
    ("kwargs", "login", "status"),
    [
        ({"node_ip": "192.168.64.8"}, "http://192.168.64.8:3000", "https://192.168.64.8:8080"),
        ({"node_ip": "fd00::8"}, "http://[fd00::8]:3000", "https://[fd00::8]:8080"),
        (
            {"node_ip": "192.168.64.8", "app_url": "https://alga.example.com"},
            "https://alga.example.com",
            "https://192.168.64.8:8080",
        ),
        (
            {
                "node_ip": "127.0.0.1",
                "target_login_url": "http://127.0.0.1:41000",
                "target_status_url": "http://127.0.0.1:41001",
            },
            "http://127.0.0.1:41000",
            "http://127.0.0.1:41001",
        ),
        # the operator's app URL wins over what a target says
        (
            {"node_ip": "127.0.0.1", "app_url": "http://alga.lan", "target_login_url": "http://x:1"},
            "http://alga.lan",
            "https://127.0.0.1:8080",
        ),
        ({"node_ip": None}, None, None),
    ],
)
def test_one_rule_for_login_and_status_urls(
    kwargs: dict[str, str | None], login: str | None, status: str | None
) -> None:
    got = endpoints.resolve(**kwargs)  # type: ignore[arg-type]
    assert (got.login_url, got.status_url) == (login, status)


@pytest.mark.parametrize(
    ("kwargs", "health"),
    [
        # the page is HTTPS on 8080; /healthz without TLS is on the plain port 8081
        ({"node_ip": "192.168.64.8"}, "http://192.168.64.8:8081"),
        ({"node_ip": "fd00::8"}, "http://[fd00::8]:8081"),
        # a target that serves the page itself answers /healthz there
        ({"node_ip": "127.0.0.1", "target_status_url": "http://127.0.0.1:41001"}, "http://127.0.0.1:41001"),
        ({"node_ip": None}, None),
    ],
)
def test_status_health_url_is_plain_http_next_to_the_https_page(
    kwargs: dict[str, str | None], health: str | None
) -> None:
    assert endpoints.resolve(**kwargs).status_health_url == health  # type: ignore[arg-type]


def test_a_site_no_target_claims_gets_the_real_adapters_and_the_wall_clock() -> None:
    site = Site.open("hardware")
    site.root.mkdir(parents=True)
    site.write("node-ip", "10.0.0.5\n", mode=0o644)
    site.write("app-url", "https://psa.example.org\n", mode=0o644)
    env = open_env(site)
    assert env.info is None and isinstance(env.clock, SystemClock)
    assert type(env.talos).__name__ == "TalosctlAdapter" and type(env.flux).__name__ == "FluxCliAdapter"
    urls = env.endpoints()
    assert urls.login_url == "https://psa.example.org" and urls.status_url == "https://10.0.0.5:8080"
    assert env.endpoints(app_url="http://override").login_url == "http://override"
    assert env.registry_mirror is None


def test_scaled_clock_polls_at_the_target_pace_but_keeps_wall_clock_bounds() -> None:
    clock = ScaledClock(100.0, min_real_sleep=0.01)
    event = threading.Event()
    t0 = time.monotonic()
    assert clock.wait(event, 2.0) is False  # 2 s of target time: 20 ms of wall time
    assert time.monotonic() - t0 < 1.0
    assert abs(clock.monotonic() - time.monotonic()) < 0.5  # bounds are not scaled
    event.set()
    assert clock.wait(event, 60.0) is True
    with pytest.raises(ValueError):
        ScaledClock(0)


def test_target_info_defaults_to_the_wall_clock_scale() -> None:
    assert TargetInfo(name="x").time_scale == 1.0


def test_kubernetes_retries_wait_in_wall_time_unless_the_target_shares_its_clock(tmp_path: Path) -> None:
    """A ScaledClock would shorten the back-off but not an outage: retries keep the wall clock;
    a target's own clock (an in-process simulation on virtual time) is theirs to wait in."""
    from appliance_cli.env import SiteEnv

    site = Site.open("lab", config_dir=tmp_path)
    (tmp_path / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t0123456789}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )

    def nothing() -> Any:
        raise AssertionError("not asked")

    scaled = SiteEnv(
        site=site,
        make_talos=nothing,
        make_flux=nothing,
        info=TargetInfo(name="lab", time_scale=80),
        clock=ScaledClock(80),
    )
    assert scaled.retry_clock is None and scaled.kube().clock is None
    shared = SystemClock()
    own = SiteEnv(
        site=site,
        make_talos=nothing,
        make_flux=nothing,
        info=TargetInfo(name="lab", clock=shared),
        clock=shared,
    )
    assert own.retry_clock is shared and own.kube().clock is shared
    hardware = SiteEnv(site=site, make_talos=nothing, make_flux=nothing)
    assert hardware.retry_clock is None and hardware.kube().clock is None
