"""Classification of every fixture is exactly the recorded golden document (see golden.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from appliance_cli.status.model import StatusDocument

from .golden import GOLDEN, LARGE, LARGE_FILE, canonical, fixture_documents, large_digest, large_key

FIXTURES = list(fixture_documents())


@pytest.mark.parametrize(("golden", "make"), FIXTURES, ids=[str(g.relative_to(GOLDEN)) for g, _ in FIXTURES])
def test_fixture_classifies_to_its_golden_document(golden: Path, make: Callable[[], StatusDocument]) -> None:
    assert golden.is_file(), f"no golden document {golden}: run python -m tests.unit.status.golden"
    assert canonical(make()) == golden.read_text()


def test_every_golden_document_has_its_fixture() -> None:
    recorded = {p for p in GOLDEN.rglob("*.json") if p != LARGE_FILE}
    assert recorded == {g for g, _ in FIXTURES}


@pytest.mark.parametrize(
    ("name", "build", "pods", "events"), LARGE, ids=[large_key(n, p, e) for n, _, p, e in LARGE]
)
def test_large_snapshot_classifies_to_its_golden_digest(
    name: str, build: Callable[[int, int], dict[str, Any]], pods: int, events: int
) -> None:
    want = json.loads(LARGE_FILE.read_text())[large_key(name, pods, events)]
    assert large_digest(build, pods, events) == want
