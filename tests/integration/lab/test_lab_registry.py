"""The lab's OCI registry over real HTTP: distribution API answers, and the release preflight
(``check_release``) against it agrees with what the simulated kubelet pulls."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest
from appliance_lab.registry import OCI_MANIFEST, LabRegistry
from appliance_lab.scenario import Scenario, load_scenario
from appliance_lab.testing import LabHandle

from appliance_cli.adapters.registry import ACCEPT
from appliance_cli.releases import load_release
from appliance_cli.status.image_preflight import ReleaseCheck, check_release

RELEASE = "1.0-rc5"
WORKER = "/v2/nine-minds/workflow-worker/manifests/61e4a00e"
CORE = "/v2/nine-minds/alga-psa-ee/manifests/a2cbb430"


def _registry_address(lab: LabHandle) -> str:
    url = str(lab.info["registryUrl"])
    assert url.startswith("http://127.0.0.1:")
    return url.removeprefix("http://")


def _check(address: str) -> ReleaseCheck:
    release = load_release(RELEASE)
    hosts = {ref.registry for ref in release.images.values()}
    return check_release(
        release, mirrors=dict.fromkeys(hosts, address), insecure_registries=[address], credentials={}
    )


def _errors(response: httpx.Response) -> list[dict[str, Any]]:
    body = response.json()
    assert set(body) == {"errors"}
    return list(body["errors"])


@pytest.mark.lab(scenario="missing-background-tag", speed=60)
def test_lab_publishes_its_registry_in_lab_json_and_answers_the_api_version_check(lab: LabHandle) -> None:
    published = json.loads((lab.site_dir / "lab.json").read_text())
    assert published["registryUrl"] == lab.info["registryUrl"]
    r = httpx.get(f"{lab.info['registryUrl']}/v2/")
    assert r.status_code == 200
    assert r.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert r.json() == {}


@pytest.mark.lab(scenario="missing-background-tag", speed=60)
def test_present_tag_has_a_manifest_with_a_stable_digest_of_its_body(lab: LabHandle) -> None:
    base = str(lab.info["registryUrl"])
    with httpx.Client(headers={"Accept": ACCEPT}) as http:
        head = http.head(base + CORE)
        got = http.get(base + CORE)
        again = http.get(base + CORE)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    digest = "sha256:" + hashlib.sha256(got.content).hexdigest()
    for r in (head, got, again):
        assert r.headers["Content-Type"] == OCI_MANIFEST
        assert r.headers["Docker-Content-Digest"] == digest
        assert r.headers["Docker-Distribution-API-Version"] == "registry/2.0"
        assert int(r.headers["Content-Length"]) == len(got.content)
    assert again.content == got.content
    manifest = got.json()
    assert manifest["schemaVersion"] == 2 and manifest["mediaType"] == OCI_MANIFEST
    assert manifest["config"]["digest"].startswith("sha256:") and manifest["config"]["size"] > 0
    assert all(layer["digest"].startswith("sha256:") for layer in manifest["layers"])
    # the digest it handed out is a reference of its own
    by_digest = httpx.get(f"{base}/v2/nine-minds/alga-psa-ee/manifests/{digest}")
    assert by_digest.status_code == 200 and by_digest.content == got.content


@pytest.mark.lab(scenario="missing-background-tag", speed=60)
def test_missing_tag_is_manifest_unknown(lab: LabHandle) -> None:
    base = str(lab.info["registryUrl"])
    head = httpx.head(base + WORKER)
    assert head.status_code == 404 and head.content == b""
    assert head.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    got = httpx.get(base + WORKER)
    assert got.status_code == 404
    assert got.headers["Content-Type"].startswith("application/json")
    assert _errors(got) == [
        {"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {"Tag": "61e4a00e"}}
    ]
    # only what the scenario names is missing
    assert httpx.head(f"{base}/v2/nine-minds/email-service/manifests/61e4a00e").status_code == 200
    unknown_digest = "sha256:" + "0" * 64
    gone = httpx.get(f"{base}/v2/nine-minds/workflow-worker/manifests/{unknown_digest}")
    assert gone.status_code == 404 and _errors(gone)[0]["code"] == "MANIFEST_UNKNOWN"


def test_repository_the_scenario_removes_is_name_unknown() -> None:
    scenario = Scenario.model_validate(
        {
            "name": "retired",
            "description": "a retired repository",
            "missingImages": ["ghcr.io/nine-minds/retired"],
        }
    )
    assert scenario.image_missing("ghcr.io/nine-minds/retired:1.0")  # the kubelet's view
    with LabRegistry(scenario) as registry:
        got = httpx.get(f"{registry.url}/v2/nine-minds/retired/manifests/1.0")
        head = httpx.head(f"{registry.url}/v2/nine-minds/retired/manifests/1.0")
        other = httpx.head(f"{registry.url}/v2/nine-minds/alga-psa-ee/manifests/a2cbb430")
    assert got.status_code == head.status_code == 404
    assert _errors(got) == [
        {
            "code": "NAME_UNKNOWN",
            "message": "repository name not known to registry",
            "detail": {"name": "nine-minds/retired"},
        }
    ]
    assert other.status_code == 200


def test_writes_are_refused() -> None:
    with LabRegistry(load_scenario("healthy")) as registry:
        r = httpx.put(f"{registry.url}{CORE}", content=b"{}", headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 405 and _errors(r)[0]["code"] == "UNSUPPORTED"


@pytest.mark.lab(scenario="healthy", speed=60)
def test_check_release_against_the_healthy_lab_finds_every_image(lab: LabHandle) -> None:
    check = _check(_registry_address(lab))
    assert check.verdict == "all_present"
    assert check.findings == []
    assert {ci.result.outcome for ci in check.images} == {"present"}
    assert all(ci.result.media_type == OCI_MANIFEST for ci in check.images)
    assert all((ci.result.digest or "").startswith("sha256:") for ci in check.images)
    # results name the release's own references, not the registry they were asked at
    assert {ci.result.image for ci in check.images} == {
        ref.reference for ref in load_release(RELEASE).images.values()
    }


@pytest.mark.lab(scenario="missing-background-tag", speed=60)
def test_check_release_against_missing_background_tag_warns_and_blocks_nothing(lab: LabHandle) -> None:
    check = _check(_registry_address(lab))
    assert check.verdict == "missing"
    outcomes = {ci.key: ci.result.outcome for ci in check.images}
    assert outcomes.pop("workflow-worker") == "missing"
    assert set(outcomes.values()) == {"present"}
    assert check.blocking == []
    [warning] = check.warnings
    assert warning.component == "workflow-worker" and warning.tier == "background"
    assert warning.image == "ghcr.io/nine-minds/workflow-worker:61e4a00e"
    assert "MANIFEST_UNKNOWN" in (
        check.images[[c.key for c in check.images].index("workflow-worker")].result.error or ""
    )
    [blocker] = check.blockers()
    assert blocker.code == "image_tag_not_found" and not blocker.login_blocking


@pytest.mark.lab(scenario="core-image-missing", speed=60)
def test_check_release_against_a_missing_core_tag_blocks(lab: LabHandle) -> None:
    check = _check(_registry_address(lab))
    assert [f.image for f in check.blocking] == ["ghcr.io/nine-minds/alga-psa-ee:a2cbb430"]
    assert [b.code for b in check.blockers() if b.login_blocking] == ["image_tag_not_found"]


@pytest.mark.lab(scenario="healthy", speed=60)
def test_pods_run_the_digest_the_registry_answers(lab: LabHandle) -> None:
    """The kubelet's ``imageID`` is the digest the preflight resolved: no digest drift in the lab."""
    check = _check(_registry_address(lab))
    resolved = {ci.result.image: ci.result.digest for ci in check.images}
    lab.apply_bootstrap_objects()

    def running_core() -> list[dict[str, Any]]:
        return [
            cs
            for p in lab.list_objects("v1/pods", "msp")
            for cs in (p.get("status") or {}).get("containerStatuses") or []
            if cs["image"] == "ghcr.io/nine-minds/alga-psa-ee:a2cbb430" and cs.get("imageID")
        ]

    statuses = lab.wait_for(running_core, timeout=60, what="alga-core pod with an imageID")
    for cs in statuses:
        assert cs["imageID"] == f"ghcr.io/nine-minds/alga-psa-ee@{resolved[cs['image']]}"
