"""Image rules: missing tags, registry authentication, interrupted pulls, drift from the release."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from appliance_cli.catalog import Component
from appliance_cli.status.index import (
    SnapshotIndex,
    image_tag,
    iter_container_statuses,
    key_of,
    same_repository,
)
from appliance_cli.status.model import Evidence
from appliance_cli.status.rules.registry import Finding, RepairSpec, finding, pod_subject, rule
from appliance_cli.status.rules.signals import PullCause, pods_with_pull_failures, pull_failures


def _pull_findings(index: SnapshotIndex, cause: PullCause, code: str, what: str) -> list[Finding]:
    out: list[Finding] = []
    for pod in pods_with_pull_failures(index):
        for pf in pull_failures(index, pod):
            if pf.cause != cause:
                continue
            out.append(
                finding(
                    code,
                    **pod_subject(index, pod),
                    reason=f"{what}: {pf.image}",
                    evidence=list(pf.evidence),
                )
            )
    return out


def _preflight_checks(index: SnapshotIndex) -> list[Mapping[str, Any]]:
    checks = index.snapshot.release_facts.get("imageChecks") or []
    return [c for c in checks if isinstance(c, Mapping)]


def _component(index: SnapshotIndex, name: str) -> Component | None:
    try:
        return index.catalog.component(name)
    except KeyError:
        return None


@rule(
    code="image_tag_not_found",
    title="Image tag not found",
    layer="image",
    rank=90,
    meaning=(
        "An image tag the release pins does not exist in the registry. The pod will never start "
        "until the tag is published or the release points at an existing tag. Found by the "
        "registry preflight before any pull, or from the pod's pull failure."
    ),
    signals=(
        'Failed to pull image "X": rpc error: code = NotFound desc = failed to pull and unpack '
        'image "X": failed to resolve reference "X": X: not found',
        'Back-off pulling image "X" (cause in the pod\'s Failed events)',
        'release preflight imageChecks outcome "missing" (manifest unknown)',
    ),
    remediation=(
        "Publish the missing tag to the registry, or fix the tag in releases/<version>/release.json "
        "and re-run bootstrap. Background images never block login; a missing core image does."
    ),
    next_action="Publish the missing image tag or update the release manifest.",
    repair=RepairSpec(
        None,
        (
            "No automatic repair: the release pins a tag the registry does not have. "
            "Publishing the tag or changing the release is a release decision, not a "
            "cluster repair."
        ),
    ),
)
def image_tag_not_found(index: SnapshotIndex) -> list[Finding]:
    out = _pull_findings(index, "not_found", "image_tag_not_found", "Image tag not found")
    for check in _preflight_checks(index):
        if check.get("outcome") != "missing":
            continue
        name = str(check.get("component") or "")
        comp = _component(index, name)
        image = str(check.get("image") or "")
        out.append(
            finding(
                "image_tag_not_found",
                component=comp,
                name=None if comp else name or image,
                tier=None if comp else "background",
                reason=f"Image tag not found: {image}",
                evidence=[
                    Evidence(
                        kind="RegistryCheck",
                        name=image or None,
                        reason="ManifestUnknown",
                        message=str(check.get("error") or f"{image}: manifest unknown"),
                        timestamp=check.get("checkedAt"),
                    )
                ],
            )
        )
    return out


@rule(
    code="image_pull_auth_failed",
    title="Registry refused the image pull",
    layer="image",
    rank=100,
    meaning=(
        "The registry answered 401/403: the image is private and the node has no (valid) pull credentials."
    ),
    signals=(
        "failed to authorize: failed to fetch anonymous token: unexpected status from GET request "
        "to https://ghcr.io/token?...: 401 Unauthorized",
        "403 Forbidden",
        "pull access denied, repository does not exist or may require authorization",
        'release preflight imageChecks outcome "unauthorized"',
    ),
    remediation=(
        "Make the package public or give the cluster a pull secret for the registry (and "
        "reference it in the values). Check that the token has read:packages."
    ),
    next_action="Provide registry pull credentials (or make the image public), then retry the pull.",
    repair=RepairSpec(
        None,
        (
            "No automatic repair: pulling needs registry credentials (a pull secret or a "
            "public package) that only the admin can provide."
        ),
    ),
)
def image_pull_auth_failed(index: SnapshotIndex) -> list[Finding]:
    out = _pull_findings(index, "unauthorized", "image_pull_auth_failed", "Registry refused the pull")
    for check in _preflight_checks(index):
        if check.get("outcome") != "unauthorized":
            continue
        name = str(check.get("component") or "")
        comp = _component(index, name)
        out.append(
            finding(
                "image_pull_auth_failed",
                component=comp,
                name=None if comp else name,
                tier=None if comp else "background",
                reason=f"Registry refused access to {check.get('image')}",
                evidence=[
                    Evidence(
                        kind="RegistryCheck",
                        name=str(check.get("image") or "") or None,
                        reason="Unauthorized",
                        message=str(check.get("error") or "401 Unauthorized"),
                    )
                ],
            )
        )
    return out


@rule(
    code="image_pull_rate_limited",
    title="Registry rate limit reached",
    layer="image",
    rank=105,
    meaning=(
        "The registry refused the pull with 429 Too Many Requests: the node pulled more than the "
        "registry allows in its window (Docker Hub counts anonymous pulls per address, e.g. for "
        "the temporalio/* images). The image exists and access is allowed; only the rate is "
        "exceeded, so neither a missing tag nor missing credentials is the cause."
    ),
    signals=(
        'Failed to pull image "docker.io/temporalio/auto-setup:1.24.2": rpc error: code = Unknown '
        'desc = failed to pull and unpack image "docker.io/temporalio/auto-setup:1.24.2": failed to '
        "copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/"
        "temporalio/auto-setup/manifests/sha256:…: 429 Too Many Requests - Server message: "
        "toomanyrequests: You have reached your pull rate limit. You may increase the limit by "
        "authenticating and upgrading: https://www.docker.com/increase-rate-limit",
        'Back-off pulling image "X" (cause in the pod\'s Failed events)',
    ),
    remediation=(
        "Wait for the registry's window to pass (Kubernetes keeps retrying with back-off), or "
        "pull authenticated (a pull secret for the registry raises the limit), or point the node "
        "at a registry mirror (Talos machine.registries.mirrors). Bootstrap with --prepull-images "
        "pulls each image once before the rollout needs it."
    ),
    next_action=(
        "Wait for the registry's rate-limit window, or pull authenticated / through a registry mirror."
    ),
)
def image_pull_rate_limited(index: SnapshotIndex) -> list[Finding]:
    return _pull_findings(index, "rate_limited", "image_pull_rate_limited", "Registry rate limit reached")


@rule(
    code="image_pull_interrupted",
    title="Image pull interrupted",
    layer="image",
    rank=110,
    meaning=(
        "The image download broke off (network reset, timeout, proxy). Kubernetes retries with "
        "back-off; a large image on a slow or flaky link may never finish."
    ),
    signals=(
        "failed to copy: httpReadSeeker: failed open: ...: unexpected EOF",
        "read tcp ...: read: connection reset by peer",
        "context canceled",
        "dial tcp ...:443: i/o timeout",
    ),
    remediation=(
        "Check the node's outbound HTTPS to the registry and any proxy. Re-run bootstrap with "
        "--prepull-images to pull large images before the rollout waits on them."
    ),
    next_action="Check outbound HTTPS from the node to the registry; re-run with --prepull-images.",
    repair=RepairSpec(
        "restart_pull",
        (
            "Delete the pod whose image download broke off; its Deployment, StatefulSet or "
            "Job creates it again and the kubelet pulls afresh. Never the StatefulSet, its "
            "volume claim or any other object."
        ),
        touches=("Pod",),
    ),
)
def image_pull_interrupted(index: SnapshotIndex) -> list[Finding]:
    return _pull_findings(index, "interrupted", "image_pull_interrupted", "Image pull interrupted")


@rule(
    code="release_image_drift",
    title="Running image differs from the release",
    layer="release",
    rank=200,
    meaning=(
        "A workload runs an image tag other than the one the selected release pins (a manual "
        "edit, a stale Helm value, or a release not rolled out). Not a login blocker, but the "
        "appliance is not what the release says."
    ),
    signals=(
        "Deployment/StatefulSet container image tag != releases/<version>/release.json images.<key>.tag",
    ),
    remediation=(
        "Re-run bootstrap with the intended --release-version (recover mode), or reconcile the "
        "HelmRelease so the values of the release apply again."
    ),
    next_action="Reconcile the component's HelmRelease so it runs the release's image tag.",
    generic=True,  # advisory: never the specific cause of a component's trouble
)
def release_image_drift(index: SnapshotIndex) -> list[Finding]:
    out = _tag_drift(index)
    drifted = {f.component for f in out}
    out += [f for f in _digest_drift(index) if f.component not in drifted]
    return out


def _preflight_digests(index: SnapshotIndex) -> dict[str, str]:
    return {
        str(c.get("component")): str(c["digest"])
        for c in _preflight_checks(index)
        if c.get("outcome") == "present" and c.get("digest")
    }


def _digest_drift(index: SnapshotIndex) -> list[Finding]:
    """Same tag, other content: the running digest differs from the one the preflight resolved."""
    digests = _preflight_digests(index)
    out: list[Finding] = []
    for comp in index.catalog.components:
        want = index.release_image_for(comp)
        resolved = digests.get(comp.name)
        if want is None or resolved is None:
            continue
        for pod in index.pods_by_component.get(comp.name, []):
            for cs in iter_container_statuses(pod):
                image, image_id = cs.get("image", ""), cs.get("imageID", "")
                if "@" not in image_id or not same_repository(image, want.repository):
                    continue
                if image_tag(image) != want.tag:
                    continue
                running = image_id.rsplit("@", 1)[1]
                if running == resolved:
                    continue
                ns, name = key_of(pod)
                out.append(
                    finding(
                        "release_image_drift",
                        component=comp,
                        login_blocking=False,
                        reason=f"{comp.name} runs {want.reference} at {running[:19]}…, but the release "
                        f"preflight resolved that tag to {resolved[:19]}… (the tag was re-pushed)",
                        evidence=[
                            Evidence(
                                kind="Pod",
                                namespace=ns,
                                name=name,
                                message=f"container {cs.get('name')} imageID {image_id}; preflight digest "
                                f"{resolved}",
                            )
                        ],
                    )
                )
    return out


def _tag_drift(index: SnapshotIndex) -> list[Finding]:
    out: list[Finding] = []
    for comp in index.catalog.components:
        want = index.release_image_for(comp)
        wl = index.workload(comp)
        if want is None or wl is None:
            continue
        template = (wl.get("spec") or {}).get("template") or {}
        for c in (template.get("spec") or {}).get("containers") or []:
            image = c.get("image", "")
            if not same_repository(image, want.repository):
                continue
            tag = image_tag(image)
            if tag is None or tag == want.tag:
                continue
            ns, name = key_of(wl)
            out.append(
                finding(
                    "release_image_drift",
                    component=comp,
                    login_blocking=False,
                    reason=f"{comp.name} runs {image}, the release pins {want.reference}",
                    evidence=[
                        Evidence(
                            kind=wl.get("kind") or comp.workload.kind,
                            namespace=ns,
                            name=name,
                            message=f"container {c.get('name')} image {image}; release {want.reference}",
                        )
                    ],
                )
            )
    return out
