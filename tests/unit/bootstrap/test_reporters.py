"""The three renderings of the same events: plain lines, JSON lines, the live view state."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

from appliance_cli import console
from appliance_cli.bootstrap import reporters
from appliance_cli.progress import ProgressEvent, milestone

START = ProgressEvent(3, "Core", "Core", "start", {"scope": "phase"})
STEP = ProgressEvent(3, "Core", "alga-core Kustomization", "progress")
WAIT = ProgressEvent(
    3,
    "Core",
    "core ready",
    "waiting",
    {
        "lastSaw": "core: progressing db 0/1",
        "elapsedSeconds": 12.0,
        "boundSeconds": 1800.0,
        "activePull": {
            "image": "ghcr.io/nine-minds/alga-psa-ee:979e2079",
            "elapsedSeconds": 41,
            "estimatedSize": "~1.8 GB",
        },
    },
)
WARN = ProgressEvent(4, "Background", "background: image_tag_not_found workflow-worker", "warning")
DONE = ProgressEvent(3, "Core", "Core", "done", {"scope": "phase", "seconds": 95.2})
FAIL = ProgressEvent(1, "Platform", "Platform", "failed", {"scope": "phase", "reason": "x"})


def test_plain_lines_have_phase_markers() -> None:
    assert reporters.plain_line(START) == "[phase 3/5] Core: started"
    assert reporters.plain_line(STEP) == "[phase 3/5] Core: alga-core Kustomization"
    wait = reporters.plain_line(WAIT)
    assert wait.startswith(
        "[phase 3/5] Core: waiting for core ready (last saw: core: progressing db 0/1; 12s/1800s"
    )
    assert "pulling ghcr.io/nine-minds/alga-psa-ee:979e2079 for 41s" in wait
    assert (
        reporters.plain_line(WARN)
        == "[phase 4/5] Background: ⚠ background: image_tag_not_found workflow-worker"
    )
    assert reporters.plain_line(DONE) == "[phase 3/5] Core: done in 95.2s"


def test_plain_reporter_prints_a_repeated_wait_only_once() -> None:
    out = io.StringIO()
    console.reset()
    with redirect_stdout(out):
        rep = reporters.PlainReporter()
        for _ in range(5):
            rep.emit(WAIT)
        rep.emit(STEP)
    console.reset()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2


def test_json_lines_are_one_object_per_event() -> None:
    obj = json.loads(reporters.json_line(WAIT))
    assert obj["phase"] == 3 and obj["step"] == "core ready" and obj["state"] == "waiting"
    assert obj["timestamp"].endswith("Z")
    assert obj["details"]["lastSaw"] == "core: progressing db 0/1"


def test_live_region_shows_only_the_current_phase_its_wait_and_the_active_pull() -> None:
    state = reporters.LiveState()
    for e in (
        ProgressEvent(0, "Talos host", "Talos host", "done", {"scope": "phase", "seconds": 3.0}),
        FAIL,
        START,
        STEP,
        WAIT,
    ):
        state.update(e)
    lines = state.lines()
    assert lines[0].startswith("▸ phase 3/5 Core (") and lines[0].endswith("— core ready")
    assert lines[1:] == [
        "  waiting for core ready (12s of 1800s)",
        "  last saw: core: progressing db 0/1",
        "  pulling ghcr.io/nine-minds/alga-psa-ee:979e2079 for 41s (~1.8 GB)",
    ]
    # finished phases are milestones (printed once, above the live region), never live lines
    assert state.milestones == ["✓ phase 0/5 Talos host (3s)", "✗ phase 1/5 Platform — x"]
    state.update(DONE)
    assert state.lines() == []
    assert state.milestones[-1] == "✓ phase 3/5 Core (95s)"


def test_milestones_are_announcements_phase_ends_warnings_and_blockers() -> None:
    state = reporters.LiveState()
    events = [
        ProgressEvent(4, "Background", "Background", "start", {"scope": "phase"}),
        milestone("Appliance status UI: URL http://10.0.0.5:8080 Token t0k"),
        WARN,
        ProgressEvent(4, "Background", "background services", "failed", {"blocker": "image_tag_not_found"}),
        ProgressEvent(4, "Background", "Background", "done", {"scope": "phase", "seconds": 1.0}),
    ]
    for e in events:
        state.update(e)
    assert state.milestones == [
        "Appliance status UI: URL http://10.0.0.5:8080 Token t0k",
        "⚠ background: image_tag_not_found workflow-worker",
        "✗ background services — blocked by image_tag_not_found",
        "⚠ phase 4/5 Background (1s) — 1 warning",
    ]


def test_a_milestone_is_its_own_plain_line_and_one_json_event() -> None:
    line = "Alga is ready to log in: http://10.0.0.5:3000"
    assert reporters.plain_line(milestone(line)) == line
    obj = json.loads(reporters.json_line(milestone(line)))
    assert obj["state"] == "milestone" and obj["step"] == line and obj["phase"] is None


def test_a_pull_line_gives_size_and_time_left_when_known() -> None:
    pull = {"image": "x:1", "elapsedSeconds": 30, "estimatedSize": "~1.8 GB", "estimatedSecondsLeft": 95}
    assert reporters.pull_line(pull) == "pulling x:1 for 30s (~1.8 GB, about 1m35s left)"


def test_rich_reporter_prints_each_milestone_once_and_erases_its_live_region() -> None:
    console.reset()
    err = io.StringIO()
    from contextlib import redirect_stderr

    with redirect_stderr(err):
        rep = reporters.RichReporter()
        for e in (START, STEP, WAIT, WARN, WAIT, DONE):
            rep.emit(e)
        rep.close()
    console.reset()
    text = err.getvalue()
    assert text.count("image_tag_not_found") == 1
    assert text.count("✓ phase 3/5 Core (95s)") == 1


def test_make_reporter_picks_by_mode() -> None:
    assert isinstance(reporters.make_reporter("json"), reporters.JsonReporter)
    assert isinstance(reporters.make_reporter("plain"), reporters.PlainReporter)
    assert isinstance(reporters.make_reporter(None), reporters.PlainReporter)  # not a TTY under pytest
