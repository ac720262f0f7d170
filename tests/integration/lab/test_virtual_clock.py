"""VirtualClock (appliance_lab.testing): when time jumps and when it keeps the wall clock's pace."""

from __future__ import annotations

import threading
import time

from appliance_lab.testing import VirtualClock


def test_a_lone_sleeper_jumps_to_its_deadline() -> None:
    clock = VirtualClock()
    began, wall = clock.monotonic(), time.monotonic()
    clock.sleep(30.0)
    assert clock.monotonic() - began >= 30.0
    assert time.monotonic() - wall < 5.0  # no 30 s wait
    assert clock.jumps >= 1


def test_the_labs_own_loops_alone_never_make_time_jump() -> None:
    clock = VirtualClock()
    stop, started = threading.Event(), threading.Event()

    def loop() -> None:  # a controller loop: short sleeps on the clock, nobody else waiting
        started.set()
        while not clock.wait(stop, 0.05):
            pass

    thread = threading.Thread(target=loop, daemon=True)
    clock.add_background(thread)
    thread.start()
    assert started.wait(5)
    began, wall = clock.monotonic(), time.monotonic()
    time.sleep(0.5)  # not on the clock: the test is busy elsewhere
    virtual, real = clock.monotonic() - began, time.monotonic() - wall
    stop.set()
    thread.join(5)
    assert virtual < real + 0.2, (virtual, real)  # the wall clock's pace, not flat out
    assert clock.jumps == 0


def test_a_waiter_makes_the_background_loops_time_jump_with_it() -> None:
    clock = VirtualClock()
    stop = threading.Event()
    steps: list[float] = []

    def loop() -> None:
        while not clock.wait(stop, 0.05):
            steps.append(clock.monotonic())

    thread = threading.Thread(target=loop, daemon=True)
    clock.add_background(thread)
    thread.start()
    wall = time.monotonic()
    clock.sleep(2.0)  # someone waits for time to pass: the loop's ticks are jumped to
    stop.set()
    thread.join(5)
    assert time.monotonic() - wall < 2.0
    assert len(steps) >= 20  # the loop still stepped through the 2 virtual seconds


def test_realtime_keeps_the_wall_clocks_pace() -> None:
    clock = VirtualClock()
    with clock.realtime():
        wall = time.monotonic()
        clock.sleep(0.3)
        assert time.monotonic() - wall >= 0.3
        assert clock.jumps == 0
    wall = time.monotonic()
    clock.sleep(30.0)
    assert time.monotonic() - wall < 5.0
