"""Golden status documents: what every fixture snapshot classifies to, recorded once.

The classifier's output for the recorded fixtures (``tests/fixtures/snapshots``, every
object fixture of ``tests/fixtures/objects``) and for large generated snapshots is kept in
``tests/fixtures/golden``: the fixtures' documents in full, the large ones as a SHA-256 of
their canonical JSON. ``test_golden_documents.py`` compares, so a change that is meant to
make classification faster (or otherwise leave it alone) proves it changed no document.

When a change to the rules is meant to change documents, regenerate and review the diff:

    .venv/bin/python -m tests.unit.status.golden
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from appliance_cli.status.classify import classify
from appliance_cli.status.model import StatusDocument
from appliance_cli.status.offline import classify_snapshot_file
from appliance_cli.status.snapshot import ClusterSnapshot
from tests.fixtures.objects_loader import OBJECTS, SNAPSHOTS, ObjectFixture, object_fixtures

from . import large

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "golden"
LARGE_FILE = GOLDEN / "large.json"

# (name, builder, pods, events): sizes small enough for a unit test, large enough for every
# per-object index and cut to matter (several events per pod, more pods than any bound).
LARGE: tuple[tuple[str, Callable[[int, int], dict[str, Any]], int, int], ...] = (
    ("pull_failures", large.pull_failures, 2000, 2000),
    ("pull_failures", large.pull_failures, 300, 9000),
    ("kubelet_events", large.kubelet_events, 2000, 2000),
    ("kubelet_events", large.kubelet_events, 300, 9000),
)


def canonical(doc: StatusDocument) -> str:
    """The document as the API sends it, keys sorted, one stable text.

    Without ``urls.statusUrl``: where the status page is served is the rule of
    ``appliance_cli.endpoints`` (tested with it), not something classification decides.
    """
    data = json.loads(doc.to_json(indent=None))
    data.get("urls", {}).pop("statusUrl", None)
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def _classify_object(fx: ObjectFixture) -> StatusDocument:
    return classify(fx.snapshot())


def fixture_documents() -> Iterator[tuple[Path, Callable[[], StatusDocument]]]:
    """(golden file, how to classify its fixture) for every recorded fixture."""
    for path in sorted(SNAPSHOTS.glob("*.json")):
        if path.stem == "expectations":
            continue
        yield GOLDEN / "snapshots" / path.name, partial(classify_snapshot_file, path)
    for fx in object_fixtures():
        rel = fx.path.relative_to(OBJECTS)
        yield GOLDEN / "objects" / rel, partial(_classify_object, fx)


def large_key(name: str, pods: int, events: int) -> str:
    return f"{name}/{pods}pods/{events}events"


def large_digest(build: Callable[[int, int], dict[str, Any]], pods: int, events: int) -> str:
    doc = classify(ClusterSnapshot.model_validate(build(pods, events)))
    return hashlib.sha256(canonical(doc).encode()).hexdigest()


def main() -> None:
    for golden, make in fixture_documents():
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(canonical(make()))
    digests = {large_key(n, p, e): large_digest(b, p, e) for n, b, p, e in LARGE}
    LARGE_FILE.write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
