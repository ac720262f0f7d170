"""The lab's store hands its stored objects out without copying (``snapshot``, ``list_refs``,
``try_get_ref``, checkpoints): that is only sound while nothing changes a stored object in
place. A whole bootstrap runs here with every controller step watched: the objects the store
held a few steps ago must still read exactly as they did then, whether they are still stored or
were replaced since (a reader may hold either)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from appliance_lab.store import RESOURCE_TYPES, Store
from appliance_lab.testing import running_lab

from tests.cli_runner import invoke
from tests.lab_install import LAB_BOOTSTRAP

pytestmark = pytest.mark.slow

Seen = list[tuple[str, tuple[str, str], Any, str]]


def _seen(store: Store) -> Seen:
    out: Seen = []
    for rt in RESOURCE_TYPES:
        pairs, _ = store.snapshot(rt)
        out.extend((rt.key, key, obj, json.dumps(obj, sort_keys=True, default=str)) for key, obj in pairs)
    return out


def _changed(seen: Seen) -> list[str]:
    return [
        f"{rt}/{'/'.join(key)}"
        for rt, key, obj, before in seen
        if json.dumps(obj, sort_keys=True, default=str) != before
    ]


@pytest.mark.parametrize("scenario", ["healthy", "bootstrap-job-fails"])
def test_no_stored_object_changes_in_place_during_a_bootstrap(scenario: str, _isolated_home: Any) -> None:
    with running_lab(scenario=scenario, speed=60, bootstrapped=False, virtual=True) as lab:
        assert lab.lab is not None and lab.store is not None
        controllers, store = lab.lab.controllers, lab.store
        step = controllers.step
        lock = threading.Lock()
        state: dict[str, Any] = {"seen": _seen(store), "steps": 0, "checks": 0, "changed": []}

        def watched_step() -> None:
            step()
            with lock:
                state["steps"] += 1
                if state["steps"] % 5:
                    return
                state["changed"].extend(_changed(state["seen"]))
                state["checks"] += 1
                state["seen"] = _seen(store)

        controllers.step = watched_step  # type: ignore[method-assign]
        try:
            r = invoke([*LAB_BOOTSTRAP, "--bootstrap-mode", "fresh", "--progress", "plain"])
        finally:
            controllers.step = step  # type: ignore[method-assign]
        assert r.exit_code in (0, 1), r.output
        with lock:
            state["changed"].extend(_changed(state["seen"]))
            assert state["checks"] >= 20, state["checks"]  # the controllers really were watched
            assert state["changed"] == []
        assert not controllers.errors
