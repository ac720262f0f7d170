"""Flux: the ``FluxAdapter`` protocol and ``FluxCliAdapter`` (runs the ``flux`` CLI).

Bootstrap never runs ``flux install`` against the cluster: it asks for the manifests with
``flux install --export`` and applies them itself through the Kubernetes client (server-side
apply, field manager ``appliance-cli``), so a dry run can list them and re-runs are idempotent.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from appliance_cli import yamltext
from appliance_cli.adapters.process import ProcessRunner, SubprocessRunner
from appliance_cli.errors import CommandError, UsageError

FLUX = "flux"
MIN_VERSION = (2, 0, 0)
_VERSION_RE = re.compile(r"(\d+)\.(\d+)\.(\d+)")


class FluxAdapter(Protocol):
    def check_cli(self) -> str:
        """The Flux version that will be installed; raise with a clear message when unusable."""
        ...

    def install_manifests(self, version: str | None) -> list[dict[str, Any]]:
        """The Flux CRDs and controllers to apply, as plain objects in apply order."""
        ...


def argv_version() -> list[str]:
    return [FLUX, "--version"]


def argv_install_export(version: str | None) -> list[str]:
    argv = [FLUX, "install", "--export"]
    if version:
        argv.append(f"--version={version}")
    return argv


def parse_version(text: str) -> str:
    m = _VERSION_RE.search(text)
    if not m:
        raise ValueError(f"no version in {text.strip()!r}")
    return ".".join(m.groups())


class FluxCliAdapter:
    def __init__(self, runner: ProcessRunner | None = None) -> None:
        self.runner = runner or SubprocessRunner()

    def check_cli(self) -> str:
        try:
            out = self.runner.run(argv_version(), timeout=20.0)
        except CommandError as exc:
            raise UsageError(
                f"the flux CLI is needed to install Flux but could not run: {exc.message}",
                hint="install it (https://fluxcd.io/flux/installation/) and make sure 'flux' is on PATH",
            ) from None
        try:
            version = parse_version(out.stdout or out.stderr)
        except ValueError:
            raise UsageError(f"'flux --version' printed no version ({out.stdout.strip()!r})") from None
        if tuple(int(p) for p in version.split(".")) < MIN_VERSION:
            raise UsageError(
                f"flux {version} is too old; at least {'.'.join(map(str, MIN_VERSION))} is needed",
                hint="upgrade the flux CLI",
            )
        return version

    def install_manifests(self, version: str | None) -> list[dict[str, Any]]:

        out = self.runner.run(argv_install_export(version), timeout=60.0).stdout
        objects = [d for d in yamltext.safe_load_all(out) if isinstance(d, dict) and d.get("kind")]
        if not objects:
            raise CommandError(
                "'flux install --export' printed no manifests",
                argv=argv_install_export(version),
                returncode=0,
            )
        return objects
