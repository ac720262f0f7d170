"""kubectl's age format and the server-side printing columns."""

from __future__ import annotations

import pytest
from appliance_lab.api_tables import human_duration, table
from appliance_lab.store import BY_KEY


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (600, "10m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 300, "3h5m"),
        (20 * 3600, "20h"),
        (3 * 86400, "3d"),
        (3 * 86400 + 7200, "3d2h"),
        (30 * 86400, "30d"),
        (3 * 365 * 86400, "3y0d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_pod_table_columns_and_cells() -> None:
    pod = {
        "metadata": {"name": "db-0", "namespace": "alga", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"containers": [{"name": "pg"}, {"name": "exporter"}]},
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {
                    "name": "pg",
                    "ready": False,
                    "restartCount": 4,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                },
                {"name": "exporter", "ready": True, "restartCount": 1, "state": {"running": {}}},
            ],
        },
    }
    t = table(BY_KEY["v1/pods"], [pod], 5)
    assert [c["name"] for c in t["columnDefinitions"]] == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
        "IP",
        "Node",
    ]
    assert t["rows"][0]["cells"][:4] == ["db-0", "1/2", "CrashLoopBackOff", "5"]
    assert t["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
