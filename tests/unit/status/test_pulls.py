"""Image pulls: time left from the image's size and the node's measured download rate; an
operation held by a blocker is shown as blocked, not progressing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console

from appliance_cli.status import pulls
from appliance_cli.status.classify import classify
from appliance_cli.status.index import parse_time
from appliance_cli.status.render import render
from appliance_cli.status.snapshot import load_snapshot

SNAPSHOTS = Path(__file__).resolve().parents[2] / "fixtures" / "snapshots"
# the kubelet's wording (pkg/kubelet/images/image_manager.go, Kubernetes 1.29+)
PULLED = (
    'Successfully pulled image "ghcr.io/nine-minds/alga-psa-ee:a2cbb430" in 6m51.212s '
    "(6m51.5s including waiting). Image size: 1843298156 bytes."
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("6.006s", 6.006), ("512ms", 0.512), ("6m51.212s", 411.212), ("1h2m3s", 3723.0), ("1.5µs", 1.5e-6)],
)
def test_go_durations_are_read_as_seconds(text: str, seconds: float) -> None:
    assert pulls.go_duration_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "6", "s", "6x", "6s junk"])
def test_what_is_not_a_go_duration_is_none(text: str) -> None:
    assert pulls.go_duration_seconds(text) is None


@pytest.mark.parametrize(
    ("text", "nbytes"),
    [("~1.8 GB", 1_800_000_000), ("450 MB", 450_000_000), ("~120MB", 120_000_000), ("2 GiB", 2 * 2**30)],
)
def test_release_manifest_sizes_are_read_as_bytes(text: str, nbytes: int) -> None:
    assert pulls.size_bytes(text) == nbytes


def test_an_unreadable_size_is_unknown() -> None:
    assert pulls.size_bytes("big") is None and pulls.size_bytes(None) is None


def test_the_rate_is_measured_pull_time_only_and_ignores_tiny_or_sizeless_pulls() -> None:
    measured = pulls.measured_pulls(
        [
            PULLED,
            'Successfully pulled image "busybox:1.36" in 120ms (2.1s including waiting). '
            "Image size: 2150000 bytes.",
            'Successfully pulled image "old:1" in 3s (3s including waiting)',  # before 1.29: no size
            'Pulling image "x:1"',
        ]
    )
    assert [m.image for m in measured] == ["ghcr.io/nine-minds/alga-psa-ee:a2cbb430", "busybox:1.36"]
    assert measured[0].seconds == pytest.approx(411.212)  # the pull, not the queue wait
    rate = pulls.download_rate(measured)
    assert rate == pytest.approx(1843298156 / 411.212)
    assert pulls.download_rate([]) is None


def test_time_left_is_size_over_rate_minus_time_so_far_never_negative() -> None:
    assert pulls.seconds_total(1_000_000_000, 5_000_000.0) == 200
    assert pulls.seconds_left(1_000_000_000, 50, 5_000_000.0) == 150
    assert pulls.seconds_left(1_000_000_000, 500, 5_000_000.0) == 0
    assert pulls.seconds_left(None, 50, 5_000_000.0) is None
    assert pulls.seconds_left(1_000_000_000, 50, None) is None


def test_a_pull_in_progress_carries_size_rate_and_time_left() -> None:
    snap = load_snapshot(SNAPSHOTS / "core-image-pulling.json")
    collected = parse_time(snap.collected_at)
    assert collected is not None
    # 312 s earlier than the snapshot's own clock: the pull has run 100 s
    doc = classify(snap, now=collected - timedelta(seconds=312))
    pull = next(op for op in doc.active_operations if op.operation == "pulling_image")
    assert pull.elapsed_seconds == 100 and pull.blocked_by is None
    assert pull.size_bytes == 1_800_000_000  # the release manifest's "~1.8 GB"
    rate = 1843298156 / 411.212  # the node's earlier pull of the same 1.8 GB image
    assert pull.download_rate_bytes_per_second == pytest.approx(rate, rel=1e-3)
    assert pull.estimated_total_seconds == round(1_800_000_000 / rate)
    assert pull.estimated_seconds_left == round(1_800_000_000 / rate) - 100
    console = Console(width=200, record=True, no_color=True)
    console.print(render(doc))
    assert pull.estimated_seconds_left is not None
    m, sec = divmod(pull.estimated_seconds_left, 60)
    assert f"about {m}m{sec:02d}s left at the node's download rate" in console.export_text()
    assert doc.rollup.state == "installing"
    assert doc.rollup.next_action.endswith(f"1m40s so far, about {m}m{sec:02d}s left.")


def test_an_operation_held_by_a_blocker_is_blocked_not_progressing() -> None:
    doc = classify(load_snapshot(SNAPSHOTS / "missing-background-tag.json"))
    held = [op for op in doc.active_operations if op.component == "alga-background"]
    assert held and all(op.blocked_by == "image_tag_not_found" for op in held)
    console = Console(width=200, record=True, no_color=True)
    console.print(render(doc))
    text = console.export_text()
    assert "alga-background: reconciling — blocked by image_tag_not_found (not progressing)" in text
    line = next(ln for ln in text.splitlines() if "alga-background:" in ln)
    assert "elapsed" not in line


def test_a_healthy_appliance_has_no_blocked_operation() -> None:
    doc = classify(load_snapshot(SNAPSHOTS / "core-image-pulling.json"))
    assert all(op.blocked_by is None for op in doc.active_operations)
