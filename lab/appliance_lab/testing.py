"""A running lab for tests: import these fixtures or call ``running_lab`` directly.

Usage (any test package)::

    from appliance_lab.testing import lab, lab_process, LabHandle  # noqa: F401  (pytest fixtures)

    @pytest.mark.lab(scenario="dns-refused", speed=50, bootstrapped=True)
    def test_something(lab: LabHandle) -> None:
        lab.apply_bootstrap_objects()            # what `appliance bootstrap` applies, over HTTP
        lab.wait_for(lambda: lab.ready("kustomize.toolkit.fluxcd.io/v1/kustomizations",
                                       "flux-system", "alga-core"), what="alga-core Ready")

- ``lab``: the lab in this process (fast; ``lab.store`` is the live object store). Its site
  directory is ``$ALGA_APPLIANCE_HOME/<site_id>`` (default ``lab``) with ``lab.json`` naming this
  process, so ``appliance_cli.env.open_env`` hands out the lab adapters for ``--site-id lab``.
- ``lab_process``: the same started as ``appliance lab up`` does (a child process tied to this
  test with ``--parent-pid``), stopped with ``appliance lab down`` semantics at teardown.
- ``@pytest.mark.lab(scenario=..., speed=..., bootstrapped=..., site_id=..., virtual=...)``
  configures either (``scenario`` may also be an ``appliance_lab.scenario.Scenario`` for the
  in-process lab). Defaults: scenario ``healthy``, speed 50, bootstrapped True (Kubernetes
  already up), virtual True: the in-process lab runs on a ``VirtualClock`` that its waits
  (``LabHandle.wait_for``) and the CLI in this process share; ``virtual=False`` for the wall
  clock (``lab_process`` always runs on it).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from appliance_cli.site import appliance_home
from appliance_lab.store import BY_KIND, Store


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "lab(scenario, speed, bootstrapped, site_id, virtual): options of the lab and lab_process fixtures",
    )


DEFAULTS: dict[str, Any] = {
    "scenario": "healthy",
    "speed": 50.0,
    "bootstrapped": True,
    "site_id": "lab",
    "virtual": True,
}


class LabTimeout(AssertionError):
    pass


class VirtualClock:
    """A clock for an in-process lab and the CLI under test: simulated minutes in milliseconds.

    The idea of kopf's ``looptime`` for threads. Time is the wall clock plus an offset. A thread
    that sleeps on this clock (``sleep``/``wait``) is a *participant*; while every participant
    is asleep, nobody can observe time passing, so the clock jumps straight to the earliest
    wake-up instead of waiting for it. The lab's controllers tick on it and the CLI's waits
    poll on it (``open_env`` hands it out for the lab's site), so a wait for a 40 s image pull
    costs a few controller steps, not 40 s. While any participant works (an HTTP call, a status
    collection) time runs at the wall clock's pace, exactly as without it.

    A participant that has not slept here for ``idle_expiry`` wall seconds (a thread gone off
    to block elsewhere, e.g. a test's own ``time.sleep``) stops holding time back, so a stray
    participant slows the clock down to the wall clock's pace at worst, never stops it. Jumps
    never take the clock more than ``max_rate`` times faster than the wall clock: threads that
    run on the wall clock (the lab's status service) keep up.

    The lab's own loops (``background``: its controllers, the Talos bridge) never make time
    jump by themselves: the clock jumps only while someone else (the CLI, a test's
    ``wait_for``) sleeps on it. A lab nobody waits on (a module's installed lab between tests,
    a test busy with HTTP or a child process) runs at the wall clock's pace instead of
    stepping its controllers flat out, which would take the CPU from the test itself.
    Sleepers wake only for their deadline, a jump, the rate cap's end or an awake
    participant's expiry, not on a fixed poll.
    ``now()`` is the wall clock: the lab stamps objects with real wall time.
    """

    def __init__(self, *, idle_expiry: float = 2.0, max_rate: float = 25.0, poll: float = 0.05) -> None:
        self.idle_expiry = idle_expiry
        self.max_rate = max_rate
        self.poll = poll  # at most this long before a sleeper notices an awake participant ended
        self.background: set[threading.Thread] = set()  # the lab's own loops (``add_background``)
        self._next_jump = 0.0  # wall time before which the rate cap allows no jump
        self._cond = threading.Condition()
        self._offset = 0.0
        self._sleepers: dict[threading.Thread, float] = {}  # thread -> virtual deadline
        self._awake_since: dict[threading.Thread, float] = {}  # participant -> wall time it woke
        self._held = 0  # > 0: no jumps (``realtime``)
        self.jumps = 0
        self.skipped = 0.0  # virtual seconds that never had to be waited for

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        self._sleep(seconds, None)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return self._sleep(seconds, event)

    def _sleep(self, seconds: float, event: threading.Event | None) -> bool:
        if seconds <= 0:
            return event.is_set() if event is not None else False
        me = threading.current_thread()
        with self._cond:
            deadline = self.monotonic() + seconds
            self._awake_since.pop(me, None)
            self._sleepers[me] = deadline
            try:
                while True:
                    if event is not None and event.is_set():
                        return True
                    if self.monotonic() >= deadline:
                        return False
                    self._jump_if_all_asleep()
                    left = deadline - self.monotonic()
                    if left > 0:
                        self._cond.wait(self._timeout(left))
            finally:
                del self._sleepers[me]
                self._awake_since[me] = time.monotonic()

    def add_background(self, *threads: threading.Thread | None) -> None:
        """Threads of the lab's own loops: their sleeps alone never make time jump."""
        with self._cond:
            self.background.update(t for t in threads if t is not None)

    def _timeout(self, left: float) -> float:
        """How long a sleeper waits before it looks again (lock held): its deadline, unless the
        rate cap's end or an awake participant's expiry may allow a jump earlier."""
        wall = time.monotonic()
        timeout = left
        if self._awake_since:
            expiry = min(self._awake_since.values()) + self.idle_expiry - wall
            timeout = min(timeout, max(expiry, 0.0), self.poll)
        elif wall < self._next_jump:
            timeout = min(timeout, self._next_jump - wall)
        return max(timeout, 0.0005)

    @contextmanager
    def realtime(self) -> Iterator[None]:
        """Inside, the clock never jumps: time passes exactly as the wall clock's, for a CLI
        in a child process (its waits poll on the wall clock) racing the lab."""
        with self._cond:
            self._held += 1
        try:
            yield
        finally:
            with self._cond:
                self._held -= 1
                self._cond.notify_all()

    def _jump_if_all_asleep(self) -> None:
        """Called with the lock held by a sleeper: jump to the earliest deadline if nobody is awake."""
        if self._held:
            return
        wall = time.monotonic()
        for thread, since in list(self._awake_since.items()):
            if not thread.is_alive() or wall - since > self.idle_expiry:
                del self._awake_since[thread]
        if self._awake_since or wall < self._next_jump:
            return
        if all(thread in self.background for thread in self._sleepers):
            return  # only the lab's own loops wait: nobody is waiting for time to pass
        ahead = min(self._sleepers.values()) - self.monotonic()
        if ahead > 0:
            self._next_jump = wall + ahead / self.max_rate
            self._offset += ahead
            self.jumps += 1
            self.skipped += ahead
            self._cond.notify_all()


@dataclass
class LabHandle:
    site_dir: Path
    info: dict[str, Any]
    store: Store | None = None  # in-process labs only
    lab: Any = None  # the in-process ``Lab``
    clock: VirtualClock | None = None  # in-process labs on virtual time only
    _http: httpx.Client | None = field(default=None, repr=False)

    # -- basics ----------------------------------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        return self.site_dir / "kubeconfig"

    @property
    def talosconfig(self) -> Path:
        return self.site_dir / "talosconfig"

    @property
    def api_url(self) -> str:
        return str(self.info["apiUrl"])

    @property
    def login_url(self) -> str:
        return str(self.info["loginUrl"])

    @property
    def status_url(self) -> str:
        return str(self.info["statusUrl"])

    @property
    def talos_url(self) -> str:
        return str(self.info["talosUrl"])

    def _kubeconfig_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = yaml.safe_load(self.kubeconfig.read_text())
        return doc

    @property
    def token(self) -> str:
        return str(self._kubeconfig_doc()["users"][0]["user"]["token"])

    def http(self) -> httpx.Client:
        """An httpx client for the lab API: bearer token, trusting the lab's CA."""
        if self._http is None:
            import base64
            import ssl

            ca = self._kubeconfig_doc()["clusters"][0]["cluster"].get("certificate-authority-data")
            verify: Any = True
            if ca:
                verify = ssl.create_default_context(cadata=base64.b64decode(ca).decode())
            self._http = httpx.Client(
                base_url=self.api_url,
                verify=verify,
                timeout=10,
                headers={"Authorization": f"Bearer {self.token}"},
            )
        return self._http

    def api_client(self) -> Any:
        """An official ``kubernetes.client.ApiClient`` for the lab (caller closes it)."""
        from kubernetes import client, config

        cfg = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=cfg)  # type: ignore[no-untyped-call]
        cfg.retries = False
        return client.ApiClient(cfg)

    # -- REST helpers (over HTTP) ----------------------------------------------------------
    @staticmethod
    def _path(api_version: str, kind: str, namespace: str | None, name: str | None = None) -> str:
        rt = BY_KIND[(api_version, kind)]
        base = f"/apis/{rt.api_version}" if rt.group else f"/api/{rt.version}"
        if rt.namespaced:
            base += f"/namespaces/{namespace or 'default'}"
        base += f"/{rt.plural}"
        return f"{base}/{name}" if name else base

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply (``fieldManager=appliance-cli``, force) over HTTP, like bootstrap."""
        meta = obj["metadata"]
        path = self._path(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])
        resp = self.http().patch(
            path,
            params={"fieldManager": "appliance-cli", "force": "true"},
            content=json.dumps(obj),
            headers={"Content-Type": "application/apply-patch+yaml"},
        )
        if resp.status_code >= 400:
            raise AssertionError(f"apply {obj['kind']}/{meta['name']}: {resp.status_code} {resp.text}")
        out: dict[str, Any] = resp.json()
        return out

    def get(self, key: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """GET one object by snapshot key (``"apps/v1/deployments"``); ``None`` when absent."""
        api_version, plural = key.rsplit("/", 1)
        rt = next(r for r in BY_KIND.values() if r.key == key)
        path = self._path(api_version, rt.kind, namespace, name)
        resp = self.http().get(path)
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        out: dict[str, Any] = resp.json()
        _ = plural
        return out

    def list_objects(self, key: str, namespace: str | None = None, **params: str) -> list[dict[str, Any]]:
        api_version, _plural = key.rsplit("/", 1)
        rt = next(r for r in BY_KIND.values() if r.key == key)
        path = (
            self._path(api_version, rt.kind, namespace)
            if namespace
            else ((f"/apis/{rt.api_version}" if rt.group else f"/api/{rt.version}") + f"/{rt.plural}")
        )
        resp = self.http().get(path, params=params)
        resp.raise_for_status()
        items: list[dict[str, Any]] = resp.json()["items"]
        return items

    def condition(
        self, key: str, namespace: str | None, name: str, ctype: str = "Ready"
    ) -> dict[str, Any] | None:
        obj = self.get(key, namespace, name)
        for c in ((obj or {}).get("status") or {}).get("conditions") or []:
            if c.get("type") == ctype:
                return dict(c)
        return None

    def ready(self, key: str, namespace: str | None, name: str) -> bool:
        c = self.condition(key, namespace, name)
        return bool(c and c.get("status") == "True")

    def events(self, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.list_objects("v1/events", namespace)

    # -- waiting ---------------------------------------------------------------------------
    def wait_for(
        self,
        predicate: Callable[[], Any],
        *,
        timeout: float = 20.0,
        what: str = "condition",
        interval: float = 0.05,
    ) -> Any:
        """Poll ``predicate`` until it returns something truthy, at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout  # a wall-clock bound, whatever the lab's clock
        pause = self.clock.sleep if self.clock is not None else time.sleep  # lets virtual time jump
        last: Any = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            pause(interval)
        raise LabTimeout(f"timed out after {timeout}s waiting for {what} (last: {last!r})")

    # -- what bootstrap applies ------------------------------------------------------------
    def bootstrap_objects(
        self,
        *,
        release_version: str = "1.0-rc5",
        branch: str = "main",
        repo_url: str = "https://github.com/Nine-Minds/alga-psa-appliance.git",
        status_token: str = "lab-status-token",
        tiers: tuple[str, ...] = ("platform", "core", "background"),
    ) -> list[dict[str, Any]]:
        """The objects ``appliance bootstrap`` applies, in order (built with ``fluxlayout``)."""
        import base64

        from appliance_cli import fluxlayout
        from appliance_cli.releases import load_release
        from appliance_lab.talos_client import LabFluxAdapter

        release = load_release(release_version)
        app_url = self.login_url
        objs: list[dict[str, Any]] = []
        objs += fluxlayout.namespaces()
        objs += LabFluxAdapter().install_manifests(None)
        objs.append(
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {
                    "name": "local-path",
                    "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                },
                "provisioner": "rancher.io/local-path",
                "volumeBindingMode": "WaitForFirstConsumer",
                "reclaimPolicy": "Delete",
            }
        )
        objs.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "appliance-status-auth", "namespace": "appliance-system"},
                "type": "Opaque",
                "data": {"token": base64.b64encode(status_token.encode()).decode()},
            }
        )
        objs += fluxlayout.git_repositories(release, appliance_repo_url=repo_url, appliance_branch=branch)
        objs += fluxlayout.values_configmaps(release, app_url=app_url, bootstrap_mode="fresh")
        objs.append(
            fluxlayout.release_selection_configmap(
                release,
                appliance_repo_url=repo_url,
                appliance_branch=branch,
                app_url=app_url,
                bootstrap_mode="fresh",
            )
        )
        wanted: list[Any] = list(tiers)
        objs += fluxlayout.tier_kustomizations(
            branch=branch, repo_url=repo_url, release=release, tiers=wanted
        )
        return objs

    def apply_bootstrap_objects(self, **kw: Any) -> list[dict[str, Any]]:
        objs = self.bootstrap_objects(**kw)
        for obj in objs:
            self.apply(obj)
        return objs

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    opts = dict(DEFAULTS)
    marker = request.node.get_closest_marker("lab")
    if marker is not None:
        opts.update(marker.kwargs)
    return opts


@contextmanager
def running_lab(
    *,
    scenario: Any = "healthy",
    speed: float = 50.0,
    bootstrapped: bool = True,
    site_id: str = "lab",
    site_dir: Path | None = None,
    faults: Any = None,
    virtual: bool = False,
) -> Iterator[LabHandle]:
    """An in-process lab (context manager). ``virtual``: the lab and every CLI command run in
    this process for its site share a ``VirtualClock``, so waiting costs no wall time."""
    from appliance_lab.runtime import Lab

    root = site_dir or appliance_home() / site_id
    clock = VirtualClock() if virtual else None
    lab = Lab(
        root, scenario, speed=speed, site_id=site_id, bootstrapped=bootstrapped, faults=faults, clock=clock
    ).start()
    if clock is not None:
        clock.add_background(lab.controllers.thread, lab.bridge)
    handle = LabHandle(site_dir=root, info=lab.info(), store=lab.store, lab=lab, clock=clock)
    try:
        yield handle
    finally:
        handle.close()
        lab.stop()


@dataclass
class InstalledLab:
    """An in-process lab taken once to an installed state (``installed_lab``): ``use()`` puts
    the lab and its site directory back to that state for the next test."""

    handle: LabHandle
    home: Path  # the ``ALGA_APPLIANCE_HOME`` the site lives in
    checkpoint: Any  # ``appliance_lab.checkpoint.LabCheckpoint``
    pristine: Path  # a copy of the site directory as the install left it
    restores: int = 0

    def restore(self) -> LabHandle:
        """The lab's state (objects, controllers, database, Talos node) and the site directory
        (token, journal, kubeconfig, backups …) exactly as right after the install."""
        import shutil

        self.handle.lab.restore(self.checkpoint)
        site = self.handle.site_dir
        shutil.rmtree(site)
        shutil.copytree(self.pristine, site, symlinks=True)
        self.restores += 1
        return self.handle

    def use(self, monkeypatch: pytest.MonkeyPatch) -> LabHandle:
        """Restore, and point ``ALGA_APPLIANCE_HOME`` at the lab's home for this test."""
        monkeypatch.setenv("ALGA_APPLIANCE_HOME", str(self.home))
        return self.restore()

    def errors(self) -> list[str]:
        return list(self.handle.lab.controllers.errors)


@contextmanager
def installed_lab(
    install: Callable[[LabHandle], object],
    *,
    home: Path,
    **options: Any,
) -> Iterator[InstalledLab]:
    """An in-process lab (``running_lab(**options)`` in ``home``) after ``install(handle)`` —
    typically ``appliance bootstrap`` run in-process — checkpointed, so every test of a module
    can start from the installed appliance without installing again (``InstalledLab.use``).
    ``install`` runs with ``ALGA_APPLIANCE_HOME=home``."""
    import shutil
    import tempfile

    site_id = str(options.get("site_id", "lab"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALGA_APPLIANCE_HOME", str(home))
        with running_lab(site_dir=home / site_id, **options) as handle:
            install(handle)
            assert handle.lab is not None
            checkpoint = handle.lab.checkpoint()
            pristine = Path(tempfile.mkdtemp(prefix="lab-pristine-")) / site_id
            shutil.copytree(handle.site_dir, pristine, symlinks=True)
            try:
                yield InstalledLab(handle=handle, home=home, checkpoint=checkpoint, pristine=pristine)
            finally:
                shutil.rmtree(pristine.parent, ignore_errors=True)


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Iterator[LabHandle]:
    with running_lab(**_options(request)) as handle:
        yield handle
        errors = list(handle.lab.controllers.errors)
    assert not errors, f"lab controllers raised: {errors}"


@pytest.fixture
def lab_process(request: pytest.FixtureRequest) -> Iterator[LabHandle]:
    import os

    from appliance_lab import manage

    opts = _options(request)
    info = manage.lab_up(
        scenario=opts["scenario"],
        speed=opts["speed"],
        site_id=opts["site_id"],
        bootstrapped=opts["bootstrapped"],
        parent_pid=os.getpid(),
    )
    assert info is not None
    handle = LabHandle(site_dir=Path(str(info["kubeconfig"])).parent, info=info)
    try:
        yield handle
    finally:
        handle.close()
        manage.lab_down(site_id=opts["site_id"])
