"""The lab appliance installed the way tests need it: the `appliance bootstrap` command line of
site ``lab``, and one install per module that each test starts from again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from appliance_lab.testing import InstalledLab, LabHandle, installed_lab

# `appliance bootstrap` of the lab's site at the release every lab scenario serves
LAB_BOOTSTRAP = ("bootstrap", "--site-id", "lab", "--release-version", "1.0-rc5", "--node-ip", "127.0.0.1")


@contextmanager
def installed_once(
    tmp_path_factory: pytest.TempPathFactory, install: Callable[[LabHandle], object], **options: Any
) -> Iterator[InstalledLab]:
    """``installed_lab(install, **options)`` in an appliance home of its own (for a
    module-scoped fixture: the install runs once)."""
    with installed_lab(install, home=tmp_path_factory.mktemp("installed-home"), **options) as once:
        yield once


def use_installed(once: InstalledLab, monkeypatch: pytest.MonkeyPatch) -> Iterator[LabHandle]:
    """For a test fixture: the module's install restored (lab and site directory), and after
    the test, a check that the lab's controllers raised nothing."""
    yield once.use(monkeypatch)
    errors = once.errors()
    assert not errors, f"lab controllers raised: {errors}"
