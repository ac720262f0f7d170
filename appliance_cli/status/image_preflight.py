"""Release image preflight: which images a release references exist, and what that means.

``check_release`` asks the registries (``adapters.registry``) about every image of a
release and classifies the answers through the component catalog:

* a definitively missing image of a platform, core or login component (the status service,
  the Alga web application) is **blocking**: bootstrap stops before applying anything
  unless ``--skip-image-tag-validation`` is given;
* a missing background image is a **warning** naming the image: the install continues and
  login is not affected;
* an image that could not be verified (unauthorized, unreachable, other error) is a
  warning: only ``missing`` is a verdict;
* the Talos installer image is reported separately (it is used by phase 0, not by Flux).

``classify_release_check`` is pure (no I/O) so it can be tested and reused on stored results.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from appliance_cli.adapters.registry import (
    DEFAULT_CONCURRENCY,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_TIMEOUT,
    Credentials,
    ImageCheckResult,
    RegistryChecker,
    check_images,
    display_reference,
    parse_image_reference,
)
from appliance_cli.catalog import LOGIN_BLOCKING_TIERS, Catalog, load_catalog
from appliance_cli.releases import ImageRef, Release
from appliance_cli.status.model import Blocker, ComponentTier, ImageCheck

INSTALLER_KEY = "talos-installer"


def _missing_action() -> str:
    """The next action of a missing tag: the ``image_tag_not_found`` rule's own (one source)."""
    from appliance_cli.status.rules import spec_for

    return spec_for("image_tag_not_found").next_action


SKIP_FLAG = "--skip-image-tag-validation"

Verdict = Literal["all_present", "missing", "unverified"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class ImageFinding(_Model):
    """One image that needs a human's attention, with what it means and what to do."""

    component: str
    tier: ComponentTier | Literal["installer"]
    image: str
    outcome: str
    blocking: bool
    message: str
    next_action: str = Field(alias="nextAction")


class ComponentImage(_Model):
    """A checked image with its component and tier (table rows, journal entries)."""

    key: str
    component: str
    tier: ComponentTier | Literal["installer"]
    result: ImageCheckResult


class ReleaseCheck(_Model):
    """The classified preflight of one release."""

    release_version: str = Field(alias="releaseVersion")
    images: list[ComponentImage]
    installer: ComponentImage | None = None
    findings: list[ImageFinding] = Field(default_factory=list)
    seconds: float = 0.0

    @property
    def blocking(self) -> list[ImageFinding]:
        """Definitively missing platform/core/login images: bootstrap must stop."""
        return [f for f in self.findings if f.blocking]

    @property
    def warnings(self) -> list[ImageFinding]:
        return [f for f in self.findings if not f.blocking]

    @property
    def image_checks(self) -> list[ImageCheck]:
        """The release images as ``status.model.ImageCheck`` (status document's release section)."""
        return [_image_check(ci) for ci in self.images]

    @property
    def installer_check(self) -> ImageCheck | None:
        return _image_check(self.installer) if self.installer else None

    def all_results(self) -> list[ComponentImage]:
        return [*self.images, *([self.installer] if self.installer else [])]

    @property
    def verdict(self) -> Verdict:
        """``missing`` when any image is definitively missing, ``unverified`` when none is
        missing but some could not be checked, ``all_present`` otherwise."""
        outcomes = {ci.result.outcome for ci in self.all_results()}
        if "missing" in outcomes:
            return "missing"
        if outcomes - {"present"}:
            return "unverified"
        return "all_present"

    def blockers(self) -> list[Blocker]:
        """``image_tag_not_found`` blockers for missing images (status page, before any pull)."""
        out: list[Blocker] = []
        for ci in self.images:
            if ci.result.outcome != "missing" or ci.tier == "installer":
                continue
            login_blocking = ci.tier in LOGIN_BLOCKING_TIERS
            out.append(
                Blocker.model_validate(
                    {
                        "code": "image_tag_not_found",
                        "severity": "critical" if login_blocking else "background",
                        "tier": ci.tier,
                        "component": ci.component,
                        "layer": "image",
                        "reason": f"Image tag not found: {ci.result.image}",
                        "nextAction": _missing_action(),
                        "loginBlocking": login_blocking,
                        "evidence": [
                            {
                                "kind": "RegistryCheck",
                                "name": ci.result.image,
                                "reason": "ManifestUnknown",
                                "message": ci.result.error or "manifest unknown",
                                "timestamp": ci.result.checked_at,
                            }
                        ],
                    }
                )
            )
        return out

    def journal_entry(self) -> dict[str, object]:
        """A JSON-ready summary for the bootstrap journal (no secrets: results never hold any)."""
        return {
            "releaseVersion": self.release_version,
            "verdict": self.verdict,
            "seconds": self.seconds,
            "imageChecks": [c.model_dump(by_alias=True) for c in self.image_checks],
            "installer": self.installer_check.model_dump(by_alias=True) if self.installer_check else None,
            "findings": [f.model_dump(by_alias=True) for f in self.findings],
        }


def _image_check(ci: ComponentImage) -> ImageCheck:
    r = ci.result
    outcome = r.outcome
    return ImageCheck.model_validate(
        {
            "component": ci.component,
            "image": r.image,
            "outcome": outcome,
            "digest": r.digest,
            "error": r.error,
            "checkedAt": r.checked_at,
        }
    )


def release_images(release: Release, catalog: Catalog | None = None) -> dict[str, ImageRef]:
    """The release images to check, catalog components first (in catalog order), then the rest."""
    catalog = catalog or load_catalog()
    ordered: dict[str, ImageRef] = {}
    for comp in catalog.components:
        if comp.image_key and comp.image_key in release.images:
            ordered.setdefault(comp.image_key, release.images[comp.image_key])
    for key, ref in release.images.items():
        ordered.setdefault(key, ref)
    return ordered


def installer_image(release: Release) -> ImageRef:
    return parse_image_reference(release.talos.installer_image)


def check_release(
    release: Release,
    *,
    include_installer: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    concurrency: int = DEFAULT_CONCURRENCY,
    insecure_registries: Iterable[str] | None = None,
    credentials: Mapping[str, Credentials] | None = None,
    mirrors: Mapping[str, str] | None = None,
    checker: RegistryChecker | None = None,
    catalog: Catalog | None = None,
) -> ReleaseCheck:
    """Check every image of ``release`` concurrently and classify the answers.

    Never raises for registry trouble; raises ``UsageError`` for malformed credentials in the
    environment or an unparsable installer image reference.
    """
    import time

    catalog = catalog or load_catalog()
    images = release_images(release, catalog)
    if include_installer:
        images[INSTALLER_KEY] = installer_image(release)
    started = time.monotonic()
    results = check_images(
        images,
        timeout=timeout,
        request_timeout=request_timeout,
        concurrency=concurrency,
        insecure_registries=insecure_registries,
        credentials=credentials,
        mirrors=mirrors,
        checker=checker,
    )
    return classify_release_check(
        release.version, results, catalog=catalog, seconds=round(time.monotonic() - started, 3)
    )


def classify_release_check(
    release_version: str,
    results: Sequence[ImageCheckResult],
    *,
    catalog: Catalog | None = None,
    seconds: float = 0.0,
) -> ReleaseCheck:
    """Pure: attach components and tiers to results and derive the findings."""
    catalog = catalog or load_catalog()
    by_key = {c.image_key: c for c in catalog.components if c.image_key}
    images: list[ComponentImage] = []
    installer: ComponentImage | None = None
    findings: list[ImageFinding] = []
    for r in results:
        if r.key == INSTALLER_KEY:
            installer = ComponentImage(key=r.key, component=INSTALLER_KEY, tier="installer", result=r)
            finding = _installer_finding(installer)
        else:
            comp = by_key.get(r.key)
            # An image no catalog component uses cannot block login: treat it as background.
            ci = ComponentImage(
                key=r.key,
                component=comp.name if comp else r.key,
                tier=comp.tier if comp else "background",
                result=r,
            )
            images.append(ci)
            finding = _finding(ci)
        if finding:
            findings.append(finding)
    findings.sort(key=lambda f: (not f.blocking, f.tier == "background", f.component))
    return ReleaseCheck(
        release_version=release_version,
        images=images,
        installer=installer,
        findings=findings,
        seconds=seconds,
    )


def _finding(ci: ComponentImage) -> ImageFinding | None:
    r = ci.result
    login_critical = ci.tier in LOGIN_BLOCKING_TIERS
    role = f"{ci.component}, {ci.tier} tier"
    if r.outcome == "present":
        return None
    if r.outcome == "missing":
        if login_critical:
            message = (
                f"Image tag not found: {r.image} ({role}). Bootstrap stops before applying anything: "
                f"without this image login cannot work."
            )
            action = f"{_missing_action()[:-1]}, or re-run with {SKIP_FLAG} to apply anyway."
            return _mk(ci, True, message, action)
        message = (
            f"Image tag not found: {r.image} ({role}). The install continues and login is not "
            f"affected; {ci.component} will not start until the image exists."
        )
        return _mk(ci, False, message, _missing_action())
    what = {
        "unauthorized": "the registry refused access",
        "unreachable": "the registry could not be reached",
        "error": "the registry gave an unexpected answer",
    }.get(r.outcome, r.outcome)
    consequence = (
        "If the tag is missing, login will not work."
        if login_critical
        else "The install continues; login is not affected either way."
    )
    message = f"Could not verify {r.image} ({role}): {what} ({r.error or 'no detail'}). {consequence}"
    action = (
        "Check registry access from this machine (credentials: ALGA_REGISTRY_AUTH_<HOST>), "
        "or run 'appliance release check' where the registry is reachable."
    )
    return _mk(ci, False, message, action)


def _installer_finding(ci: ComponentImage) -> ImageFinding | None:
    r = ci.result
    if r.outcome == "present":
        return None
    if r.outcome == "missing":
        message = f"Talos installer image not found: {r.image}. Installing or upgrading Talos with it fails."
        return _mk(ci, False, message, "Fix talos.installerImage in the release manifest.")
    message = f"Could not verify the Talos installer image {r.image}: {r.outcome} ({r.error or 'no detail'})."
    return _mk(ci, False, message, "Check access to the installer registry.")


def _mk(ci: ComponentImage, blocking: bool, message: str, action: str) -> ImageFinding:
    return ImageFinding(
        component=ci.component,
        tier=ci.tier,
        image=ci.result.image,
        outcome=ci.result.outcome,
        blocking=blocking,
        message=message,
        next_action=action,
    )


__all__ = [
    "INSTALLER_KEY",
    "ComponentImage",
    "ImageFinding",
    "ReleaseCheck",
    "check_release",
    "classify_release_check",
    "display_reference",
    "installer_image",
    "release_images",
]
