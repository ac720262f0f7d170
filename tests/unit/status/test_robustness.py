"""Classification never crashes on fields the API omits or sends as null."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance_cli.status.classify import classify
from appliance_cli.status.snapshot import ClusterSnapshot

SNAPSHOTS = Path(__file__).resolve().parents[2] / "fixtures" / "snapshots"
Path_ = tuple[str | int, ...]


def _paths(obj: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


@pytest.mark.parametrize(
    "scenario", ["missing-background-tag", "db-subpath-helm-timeout", "core-image-pulling"]
)
def test_null_or_missing_fields_in_raw_objects_do_not_break_classification(scenario: str) -> None:
    base = json.loads((SNAPSHOTS / f"{scenario}.json").read_text())
    # Only fields inside objects: a whole resource list set to null is a malformed snapshot (exit 2).
    paths = [p for p in _paths(base["resources"]) if len(p) > 3]
    rnd = random.Random(f"{scenario}-nulls")
    for target in rnd.sample(paths, min(120, len(paths))):
        doc = copy.deepcopy(base)
        parent: Any = doc["resources"]
        for k in target[:-1]:
            parent = parent[k]
        if isinstance(parent, dict) and rnd.random() < 0.5:
            del parent[target[-1]]
        else:
            parent[target[-1]] = None
        result = classify(ClusterSnapshot.model_validate(doc))
        assert result.rollup.state, target
