"""Fixtures: a lab appliance installed by `appliance bootstrap` once per module (virtual time),
restored for each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from appliance_lab.testing import InstalledLab, LabHandle

from tests.cli_runner import invoke
from tests.lab_install import LAB_BOOTSTRAP, installed_once, use_installed

SPEED = 60.0


def install(lab: LabHandle) -> None:
    """A fresh `appliance bootstrap` of site ``lab``, which must succeed."""
    r = invoke([*LAB_BOOTSTRAP, "--bootstrap-mode", "fresh", "--progress", "plain"])
    assert r.exit_code == 0, r.output[-3000:]


@pytest.fixture(scope="module")
def installer() -> Callable[[LabHandle], object]:
    """How the module installs the appliance (a module overrides it to also wait for more)."""
    return install


@pytest.fixture(scope="module")
def _installed_once(
    tmp_path_factory: pytest.TempPathFactory, installer: Callable[[LabHandle], object]
) -> Iterator[InstalledLab]:
    """One `appliance bootstrap` per module (virtual time); each test restores its result."""
    with installed_once(
        tmp_path_factory, installer, scenario="healthy", speed=SPEED, bootstrapped=False, virtual=True
    ) as once:
        yield once


@pytest.fixture
def installed(_installed_once: InstalledLab, monkeypatch: pytest.MonkeyPatch) -> Iterator[LabHandle]:
    """A lab installed by `appliance bootstrap` (restored from the module's install: lab objects,
    controllers, database, Talos node and the site directory); its appliance home is
    ``ALGA_APPLIANCE_HOME`` for the test and for the CLI processes it runs."""
    yield from use_installed(_installed_once, monkeypatch)
