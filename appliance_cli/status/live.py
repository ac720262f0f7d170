"""Live status: collect a snapshot of a site's cluster, then classify it.

``collect_snapshot`` resolves what a site knows (kubeconfig, talosconfig, node IP, app URL,
the endpoints of its target (``appliance_cli.env``), the journal's release version), builds a
``KubeClient`` and runs ``status.collect.collect``. ``collect_status`` adds ``classify``. Inside the cluster
(``in_cluster=True``) there is no site directory: the service account is used and
everything else comes from what bootstrap published in ``appliance-facts``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance_cli.env import SiteEnv, open_env
from appliance_cli.errors import ActionRequired, ApplianceError, ReleaseError, UsageError
from appliance_cli.site import DEFAULT_SITE_ID, Site, appliance_home
from appliance_cli.status.collect import CollectOptions, KubeSource, collect
from appliance_cli.status.model import StatusDocument
from appliance_cli.status.snapshot import ClusterSnapshot

if TYPE_CHECKING:
    from appliance_cli.adapters.talos import HealthResult
    from appliance_cli.releases import Release
    from appliance_cli.status.snapshot import SeedUsersProbe

KUBE_TIMEOUT_SECONDS = 5.0
# The seed-user counts this site's statuses saw, per database container instance (pod UID and
# restart count): bootstrap's rule across processes. Users once seeded stay while that
# container runs, so a status while it runs reuses the count instead of an exec.
SEED_MEMORY_FILE = "seed-users.json"


def resolve_site_id(site_id: str | None) -> str:
    """The given site, else the default one, else the only site that has a kubeconfig."""
    if site_id:
        return site_id
    home = appliance_home()
    if (home / DEFAULT_SITE_ID).is_dir():
        return DEFAULT_SITE_ID
    try:
        with_kube = sorted(p.name for p in home.iterdir() if (p / "kubeconfig").is_file())
    except OSError:
        with_kube = []
    return with_kube[0] if len(with_kube) == 1 else DEFAULT_SITE_ID


def _journal(site: Site) -> dict[str, Any]:
    try:
        data = json.loads(site.journal_file.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def site_options(
    site: Site, *, node_ip: str | None = None, exec_seed_probe: bool = True, env: SiteEnv | None = None
) -> CollectOptions:
    """What the site directory says about its appliance (no secret is read here)."""
    env = env or open_env(site)
    journal = _journal(site)
    urls = env.endpoints(node_ip=node_ip)
    node_ip = urls.node_ip
    app_url = urls.app_url
    status_url = urls.status_url
    login_url = urls.login_url
    release_version = journal.get("releaseVersion")
    facts = journal.get("facts") if isinstance(journal.get("facts"), dict) else {}
    token = site.read("status-token")

    def talos_health() -> HealthResult:
        from appliance_cli.adapters.talos import HealthResult

        if not node_ip or not site.talosconfig.is_file():
            return HealthResult(
                reachable=False, healthy=False, error="no talosconfig or node IP in the site directory"
            )
        return env.talos.health(str(node_ip), site.talosconfig)

    return CollectOptions(
        site_id=site.site_id,
        node_ip=str(node_ip) if node_ip else None,
        app_url=app_url,
        status_url=str(status_url) if status_url else None,
        login_url=str(login_url) if login_url else None,
        release_version=str(release_version) if release_version else None,
        exec_seed_probe=exec_seed_probe,
        talos_health=talos_health,
        redact_extra=(token,) if token else (),
        release_facts={
            k: v for k, v in (facts or {}).items() if k in ("imageChecks", "seedUsers", "revisions")
        },
    )


def status_client(kubeconfig: Path | None, *, in_cluster: bool) -> tuple[KubeSource | None, str | None]:
    """A client with the status retry policy and timeouts, or None and why it cannot be built."""
    from appliance_cli.adapters.kube import KubeClient
    from appliance_cli.adapters.kube_retry import STATUS_RETRY

    try:
        if in_cluster:
            return KubeClient.in_cluster(timeout=KUBE_TIMEOUT_SECONDS, retry=STATUS_RETRY), None
        assert kubeconfig is not None
        return KubeClient.from_kubeconfig(kubeconfig, timeout=KUBE_TIMEOUT_SECONDS, retry=STATUS_RETRY), None
    except UsageError:
        raise
    except ApplianceError as exc:
        return None, str(exc)


def collect_snapshot(
    site_id: str | None = None,
    *,
    kubeconfig: Path | None = None,
    in_cluster: bool = False,
    node_ip: str | None = None,
    client: KubeSource | None = None,
    options: CollectOptions | None = None,
    exec_seed_probe: bool | None = None,
) -> ClusterSnapshot:
    """Collect one snapshot of a site's cluster (or, ``in_cluster``, of the cluster we run in)."""
    site: Site | None = None
    if options is None:
        if in_cluster:
            options = CollectOptions(
                site_id=site_id or DEFAULT_SITE_ID,
                node_ip=node_ip,
                exec_seed_probe=bool(exec_seed_probe),
            )
        else:
            site = Site.open(resolve_site_id(site_id))
            options = site_options(
                site, node_ip=node_ip, exec_seed_probe=True if exec_seed_probe is None else exec_seed_probe
            )
            if kubeconfig is None and client is None:
                if not site.exists():
                    raise UsageError(
                        f"there is no site '{site.site_id}' ({site.root} does not exist)",
                        param="--site-id",
                        hint="pick a site that 'appliance bootstrap' (or 'appliance lab up') created",
                    )
                kubeconfig = site.kubeconfig
                if not kubeconfig.is_file():
                    raise ActionRequired(
                        f"site '{site.site_id}' has no kubeconfig yet ({kubeconfig})",
                        hint="run 'appliance bootstrap' first (or 'appliance lab up' to try the lab), "
                        "or pick another site with --site-id",
                    )
            if options.exec_seed_probe:
                options.seed_users_seen = _seed_memory(site)
    kube_error: str | None = None
    if client is None:
        client, kube_error = status_client(kubeconfig, in_cluster=in_cluster)
    remembered = dict(options.seed_users_seen or {})
    snapshot = collect(client, with_client_secrets(options, client), kube_error=kube_error)
    if site is not None and options.seed_users_seen:
        _remember_seed_users(site, options.seed_users_seen, remembered)
    return snapshot


def _seed_memory(site: Site) -> dict[str, SeedUsersProbe]:
    """The positive seed-user counts earlier statuses of ``site`` saw (``{}`` if none or unreadable)."""
    from appliance_cli.status.snapshot import SeedUsersProbe

    try:
        data = json.loads(site.path(SEED_MEMORY_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(k): SeedUsersProbe(count=v, error=None, source="exec")
        for k, v in data.items()
        if isinstance(v, int) and not isinstance(v, bool) and v > 0
    }


def _remember_seed_users(
    site: Site, seen: dict[str, SeedUsersProbe], before: dict[str, SeedUsersProbe]
) -> None:
    """Keep the counts this status added (only the running container's: an older instance
    never comes back). A site directory that cannot be written only costs the next status an exec."""
    fresh = {k: p.count for k, p in seen.items() if k not in before and p.count}
    if not fresh or not site.exists():
        return
    try:
        site.write(SEED_MEMORY_FILE, json.dumps(fresh, sort_keys=True) + "\n")
    except OSError:
        return


def with_client_secrets(options: CollectOptions, client: object) -> CollectOptions:
    """``options`` whose ``redact_extra`` also holds the client's own bearer token, so a
    workload that echoes it (an event, a log line) never gets it shown."""
    from appliance_cli.adapters.kubeconfig import KubeSettings

    settings = getattr(client, "settings", None)
    tokens = settings.secrets() if isinstance(settings, KubeSettings) else ()
    fresh = tuple(t for t in tokens if len(t) >= 8 and t not in options.redact_extra)
    if not fresh:
        return options
    return dataclasses.replace(options, redact_extra=(*options.redact_extra, *fresh))


def _release_for(snapshot: ClusterSnapshot) -> Release | None:
    from appliance_cli.releases import load_release

    version = snapshot.site.release_version
    if not version:
        return None
    try:
        # judged against, never installed: the model is check enough (no jsonschema import)
        return load_release(version, schema=False)
    except ReleaseError:
        return None


def classify_live(snapshot: ClusterSnapshot) -> StatusDocument:
    from appliance_cli.status.classify import classify

    return classify(snapshot, release=_release_for(snapshot))


def collect_status(
    site_id: str | None = None,
    *,
    kubeconfig: Path | None = None,
    in_cluster: bool = False,
    node_ip: str | None = None,
    client: KubeSource | None = None,
    options: CollectOptions | None = None,
) -> StatusDocument:
    """Collect and classify: the canonical status document of a live appliance."""
    snapshot = collect_snapshot(
        site_id, kubeconfig=kubeconfig, in_cluster=in_cluster, node_ip=node_ip, client=client, options=options
    )
    return classify_live(snapshot)
