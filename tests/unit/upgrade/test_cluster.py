"""What an upgrade reads and compares: recorded intent, changed objects, the configuration kept."""

from __future__ import annotations

from typing import Any

import pytest

from appliance_cli.errors import ActionRequired, KubeNotFound
from appliance_cli.releases import load_release
from appliance_cli.upgrade import cluster


class FakeKube:
    """Live objects by (key, namespace, name); reads only."""

    def __init__(self, objects: dict[tuple[str, str | None, str], dict[str, Any]]) -> None:
        self.objects = objects

    def get(self, key: str, namespace: str | None, name: str) -> dict[str, Any]:
        try:
            return self.objects[(key, namespace, name)]
        except KeyError:
            raise KubeNotFound(f"{key} {namespace}/{name} not found", status=404) from None

    def list_raw(self, key: str, namespace: str | None = None, **_: Any) -> dict[str, Any]:
        return {"items": [o for (k, ns, _n), o in self.objects.items() if k == key and ns == namespace]}


def test_the_recorded_app_url_wins_and_none_is_never_invented() -> None:
    recorded = {
        "appUrl": "https://alga.example.test",
        "applianceBranch": "release/x",
        "applianceRepoUrl": "file:///r",
    }
    intent = cluster.recorded_intent(
        recorded, site_app_url="http://10.0.0.5:3000", repo_url="u", branch="main"
    )
    assert intent == cluster.Intent("https://alga.example.test", "file:///r", "release/x")
    from_site = cluster.recorded_intent({}, site_app_url="http://10.0.0.5:3000", repo_url="u", branch="main")
    assert from_site.app_url == "http://10.0.0.5:3000"
    with pytest.raises(ActionRequired, match="not recorded"):
        cluster.recorded_intent({}, site_app_url=None, repo_url="u", branch="main")


def test_desired_objects_are_split_by_tier_and_never_reseed() -> None:
    release = load_release("1.0-rc5")
    intent = cluster.Intent("http://127.0.0.1:3000", "https://example.test/appliance.git", "main")
    core = {o["metadata"]["name"] for o in cluster.desired_objects(release, intent, "core")}
    background = {o["metadata"]["name"] for o in cluster.desired_objects(release, intent, "background")}
    assert {"appliance-values-alga-core", "appliance-values-pgbouncer", "appliance-release-selection"} <= core
    assert {"alga-platform", "alga-core"} <= core and "alga-background" not in core
    assert "appliance-values-email-service" in background and not core & background
    selection = next(
        o
        for o in cluster.desired_objects(release, intent, "core")
        if o["metadata"]["name"].endswith("selection")
    )
    assert selection["data"]["bootstrapMode"] == "recover"
    assert selection["data"]["appUrl"] == "http://127.0.0.1:3000"


def test_only_a_real_difference_counts_as_changed() -> None:
    cm: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "n", "labels": {"a": "1"}},
    }
    want = {**cm, "data": {"k": "v"}}
    live = {**cm, "metadata": {**cm["metadata"], "resourceVersion": "7", "labels": {"a": "1", "extra": "x"}}}
    kube = FakeKube({("v1/configmaps", "n", "c"): {**live, "data": {"k": "v"}}})
    assert not cluster.changed(kube, want)  # type: ignore[arg-type]
    kube.objects[("v1/configmaps", "n", "c")]["data"] = {"k": "other"}
    assert cluster.changed(kube, want)  # type: ignore[arg-type]
    assert cluster.changed(FakeKube({}), want)  # type: ignore[arg-type]


def test_the_kept_configuration_applies_back_without_server_fields() -> None:
    kube = FakeKube(
        {
            ("v1/configmaps", "alga-system", "appliance-values-alga-core"): {
                "metadata": {
                    "name": "appliance-values-alga-core",
                    "namespace": "alga-system",
                    "resourceVersion": "9",
                    "uid": "u",
                    "managedFields": [{}],
                },
                "data": {"values.yaml": "a: 1\n"},
            },
            ("v1/configmaps", "alga-system", "unrelated"): {"metadata": {"name": "unrelated"}, "data": {}},
            ("helm.toolkit.fluxcd.io/v2/helmreleases", "alga-system", "alga-core"): {
                "metadata": {
                    "name": "alga-core",
                    "namespace": "alga-system",
                    "annotations": {"reconcile.fluxcd.io/requestedAt": "t"},
                },
                "spec": {"interval": "5m"},
                "status": {"history": []},
            },
        }
    )
    kept = cluster.config_snapshot(kube)  # type: ignore[arg-type]
    names = [(o["kind"], o["metadata"]["name"]) for o in kept]
    assert names == [("ConfigMap", "appliance-values-alga-core"), ("HelmRelease", "alga-core")]
    assert kept[0]["metadata"] == {"name": "appliance-values-alga-core", "namespace": "alga-system"}
    assert "status" not in kept[1] and "annotations" not in kept[1]["metadata"]
    assert [o["kind"] for o in cluster.restorable(kept)] == ["ConfigMap"]


def test_a_host_version_change_names_the_talosctl_path_instead_of_running_it() -> None:
    from appliance_cli.upgrade.engine import host_upgrade_problems

    running = load_release("1.0-rc5")
    assert host_upgrade_problems(running, running) == []
    newer = running.model_copy(
        update={
            "talos": running.talos.model_copy(
                update={"version": "v1.12.9", "installer_image": "installer:v1.12.9"}
            ),
            "kubernetes": running.kubernetes.model_copy(update={"version": "v1.31.9"}),
        }
    )
    problems = host_upgrade_problems(newer, running)
    assert problems == [
        "Talos v1.12.0 → v1.12.9 (talosctl upgrade --nodes <node-ip> --image installer:v1.12.9)",
        "Kubernetes v1.31.4 → v1.31.9 (talosctl upgrade-k8s --nodes <node-ip> --to 1.31.9)",
    ]
