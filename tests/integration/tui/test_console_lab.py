"""The operator's console, driven by Textual's headless pilot at 80×24 against the lab."""

from __future__ import annotations

import asyncio
import json
import tarfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from appliance_lab.testing import InstalledLab, LabHandle, running_lab

pytest.importorskip("textual")

from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from appliance_cli.tui.app import (
    ActionScreen,
    BootstrapScreen,
    ConsoleApp,
    HomeScreen,
    LogsScreen,
    RepairScreen,
    WorkloadsScreen,
)
from tests import aio
from tests.lab_install import installed_once, use_installed

SPEED = 60.0
SIZE = (80, 24)
TIMEOUT = 30.0


def screen_text(app: ConsoleApp) -> str:
    """What the terminal shows, one line per row (the screen as a text capture)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def until(pilot: Pilot[None], check: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if check():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; screen:\n{screen_text(pilot.app)}")  # type: ignore[arg-type]


def drive(scenario: Callable[[ConsoleApp, Pilot[None]], Awaitable[None]], site_id: str | None = None) -> None:
    async def main() -> None:
        app = ConsoleApp(site_id)
        async with app.run_test(size=SIZE) as pilot:
            await scenario(app, pilot)

    aio.run(main())


def _healthy_core(lab: LabHandle) -> bool:
    from appliance_cli.status.live import collect_status

    return collect_status("lab").tiers.login.ready


def _login_ready(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects()
    lab.wait_for(lambda: _healthy_core(lab), timeout=60, interval=0.3, what="login ready")


@pytest.fixture(scope="module")
def _installed_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InstalledLab]:
    """Login-ready once per module on virtual time; each test restores that state."""
    with installed_once(
        tmp_path_factory, _login_ready, scenario="healthy", speed=SPEED, virtual=True
    ) as once:
        yield once


@pytest.fixture
def installed(_installed_once: InstalledLab, monkeypatch: pytest.MonkeyPatch) -> Iterator[LabHandle]:
    """Login-ready (restored from the module's install); the lab keeps the wall clock's pace
    for the console, whose screens refresh on their own timers."""
    for lab in use_installed(_installed_once, monkeypatch):
        assert lab.clock is not None
        with lab.clock.realtime():
            yield lab


def test_pick_a_site_see_the_ladder_and_read_a_components_logs(installed: LabHandle) -> None:
    async def scenario(app: ConsoleApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: "ready" in screen_text(app) or "healthy" in screen_text(app), "the rollup")
        picker = screen_text(app)
        assert "pick a site" in picker and "lab" in picker
        await pilot.press("enter")
        await until(pilot, lambda: "Full health" in screen_text(app), "the tier ladder")
        assert [type(s).__name__ for s in app.screen_stack][1:] == ["SitePickerScreen", "HomeScreen"]
        home = screen_text(app)
        for tier in ("Platform", "Core", "Bootstrap", "Login", "Background", "Full health"):
            assert tier in home
        assert "✓ Login" in home and "Top blockers:" in home
        assert "Upgrade" in home and "Repair release" in home and "Support bundle" in home

        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, WorkloadsScreen), "the workloads screen")
        table = app.screen.query_one("#workloads", DataTable)
        await until(pilot, lambda: table.row_count > 0, "workload rows")
        components = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert components.index("db") < components.index("alga-core") < components.index("temporal")
        for _ in range(components.index("alga-core")):
            await pilot.press("down")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LogsScreen), "the logs screen")
        # a line the lab's kubelet wrote when alga-core's container started
        await until(pilot, lambda: "sebastian ready" in screen_text(app), "alga-core's log line")
        assert "Logs of alga-core" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WorkloadsScreen), "back to workloads")

    drive(scenario)


def test_home_screen_capture_at_80x24(installed: LabHandle) -> None:
    async def scenario(app: ConsoleApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
        # the whole screen drawn: the ladder (once the first status is in) and the key footer
        # (drawn in a frame of its own, which can come after the ladder's)
        await until(
            pilot,
            lambda: "Full health" in screen_text(app) and screen_text(app).splitlines()[-1].strip() != "",
            "the tier ladder and the key footer",
        )
        lines = screen_text(app).splitlines()
        assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
        assert lines[0].startswith("Site lab")
        # the menu on the left, the rollup, the ladder and the blockers beside it
        assert "── Operations" in lines[2] and "── System" in lines[7]
        # a menu entry and the ladder's first rung on one row (which entry depends on how many
        # lines the rollup's message takes, and that on how far the install has come)
        menu = ("Bootstrap", "Upgrade", "Status", "Workloads", "Repair release", "Support bundle", "Reset")
        beside = [line.split("✓ Platform")[0] for line in lines if "✓ Platform" in line]
        assert len(beside) == 1 and any(entry in beside[0] for entry in menu), lines
        assert any("Top blockers:" in line for line in lines)
        assert any(line.strip().endswith("healthy") and "Platform" in line for line in lines)
        footer = lines[-1]
        assert "b Bootstrap" in footer and "w Workloads" in footer and "s Bundle" in footer
        svg = app.export_screenshot()
        assert svg.startswith("<svg") and "Full&#160;health" in svg
        await pilot.press("question_mark")
        await until(pilot, lambda: "Home — keys" in screen_text(app), "the keyboard help")
        assert "Workloads" in screen_text(app) and "Esc closes this help" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), "help closed")

    drive(scenario, site_id="lab")


def test_support_bundle_from_the_menu(installed: LabHandle, tmp_path: Path) -> None:
    out = tmp_path / "bundles"

    async def scenario(app: ConsoleApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
        await pilot.press("s")
        await until(pilot, lambda: "Support bundle — site lab" in screen_text(app), "the bundle form")
        app.screen.query_one("#output-dir", Input).value = str(out)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: "Review the plan" in screen_text(app), "the plan")
        assert not out.exists()  # planning wrote nothing
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "Done." in screen_text(app), "the bundle", timeout=60)
        assert "Support bundle written" in screen_text(app)

    drive(scenario, site_id="lab")
    (bundle,) = out.glob("alga-support-lab-*.tar.gz")
    with tarfile.open(bundle) as tar:
        names = {Path(n).name for n in tar.getnames()}
    assert {"snapshot.json", "status.json", "versions.json"} <= names


def test_bootstrap_form_validates_like_the_command_and_changes_nothing(installed: LabHandle) -> None:
    journal = installed.site_dir / "journal.json"
    before = journal.read_bytes() if journal.exists() else None

    async def scenario(app: ConsoleApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
        await pilot.press("b")
        await until(pilot, lambda: "Bootstrap — site lab" in screen_text(app), "the bootstrap form")
        app.screen.query_one("#release_version", Input).value = "1.0-rc5"
        app.screen.query_one("#node_ip", Input).value = "300.1.1.1"
        await pilot.press("ctrl+p")
        await until(pilot, lambda: "Nothing was changed." in screen_text(app), "the validation error")
        assert "error: --node-ip:" in screen_text(app)
        assert app.screen.query_one("#run").disabled

    drive(scenario, site_id="lab")
    assert (journal.read_bytes() if journal.exists() else None) == before


def test_reset_asks_for_the_site_id_and_a_wrong_one_deletes_nothing(installed: LabHandle) -> None:
    async def scenario(app: ConsoleApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
        await pilot.press("x")
        await until(pilot, lambda: "Reset — site lab" in screen_text(app), "the reset form")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: "Review the plan" in screen_text(app), "the reset plan")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "Type the site id" in screen_text(app), "the confirmation")
        await pilot.press(*"not-lab")
        await pilot.press("enter")
        await until(pilot, lambda: "Cancelled: nothing was changed." in screen_text(app), "the refusal")

    drive(scenario, site_id="lab")
    assert installed.get("kustomize.toolkit.fluxcd.io/v1/kustomizations", "flux-system", "alga-core")


def test_the_command_says_how_to_install_textual_when_it_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from tests.cli_runner import invoke

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "textual" else real(name, *a)
    )
    r = invoke(["tui"])
    assert r.exit_code == 1
    assert "Textual" in r.stderr and "[tui]" in r.stderr


@pytest.mark.slow
def test_bootstrap_the_lab_from_the_console() -> None:
    """A node in maintenance mode: the form's defaults, the plan, then the real run to LOGIN_READY."""
    with running_lab(scenario="healthy", speed=SPEED, bootstrapped=False, virtual=True) as lab:

        async def scenario(app: ConsoleApp, pilot: Pilot[None]) -> None:
            await until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
            await pilot.press("b")
            await until(pilot, lambda: "Bootstrap — site lab" in screen_text(app), "the bootstrap form")
            form = app.screen
            assert form.query_one("#bootstrap_mode", Input).value == "fresh"
            assert form.query_one("#node_ip", Input).value  # the lab's node, from the site
            form.query_one("#release_version", Input).value = "1.0-rc5"
            await pilot.press("ctrl+p")
            await until(pilot, lambda: "Review the plan" in screen_text(app), "the plan", timeout=60)
            assert not (lab.site_dir / "journal.json").exists()  # a dry run writes nothing
            await pilot.press("ctrl+r")
            await until(pilot, lambda: "Done." in screen_text(app), "the bootstrap", timeout=240)
            assert isinstance(form, BootstrapScreen)
            text = "\n".join(form.transcript)
            assert "[phase 5/5]" in text and "Exit state: 0" in text, text[-2000:]

        drive(scenario, site_id="lab")
        journal = json.loads((lab.site_dir / "journal.json").read_text())
        assert set(journal["phases"]) >= {"0", "1", "2", "3", "4", "5"}
        assert lab.ready("kustomize.toolkit.fluxcd.io/v1/kustomizations", "flux-system", "alga-core")


def test_repair_from_the_menu_on_a_blocked_appliance() -> None:
    """interrupted-pull: the home screen shows the blocker; Repair plans it, asks, and fixes it."""
    from appliance_cli.status.live import collect_status

    with running_lab(scenario="interrupted-pull", speed=40.0) as lab:
        lab.apply_bootstrap_objects()

        async def scenario(app: ConsoleApp, pilot: Pilot[None]) -> None:
            await until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
            await until(
                pilot, lambda: "image_pull_interrupted" in screen_text(app), "the blocker", timeout=90
            )
            await pilot.press("p")
            await until(pilot, lambda: "Repair — site lab" in screen_text(app), "the repair form")
            form = app.screen
            assert isinstance(form, RepairScreen)
            await pilot.press("ctrl+p")
            await until(pilot, lambda: "Review the plan" in screen_text(app), "the plan", timeout=60)
            assert any("image_pull_interrupted" in line for line in form.transcript), form.transcript
            await pilot.press("ctrl+r")
            await until(pilot, lambda: "Carry out this repair?" in screen_text(app), "the confirmation")
            await pilot.click("#yes")
            await until(pilot, lambda: "Done." in form.transcript, "the repair", timeout=120)
            assert "Exit state: 0" in form.transcript, form.transcript[-20:]

        drive(scenario, site_id="lab")
        lab.wait_for(
            lambda: collect_status("lab").rollup.state == "fully_healthy",
            timeout=90,
            interval=0.5,
            what="healthy",
        )


def test_upgrade_from_the_menu_validates_and_plans_like_the_command(installed: LabHandle) -> None:
    """When the build has the upgrade engine: the command's refusal, then its dry-run plan."""
    pytest.importorskip("appliance_cli.upgrade.engine")

    async def scenario(app: ConsoleApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
        await pilot.press("u")
        await until(pilot, lambda: "Upgrade — site lab" in screen_text(app), "the upgrade form")
        form = app.screen
        assert isinstance(form, ActionScreen)
        await pilot.press("ctrl+p")  # neither a version nor a channel: the command's own refusal
        await until(pilot, lambda: "Nothing was changed." in form.transcript, "the refusal")
        assert any("exactly one of --release-version and --channel" in line for line in form.transcript)
        form.query_one("#release_version", Input).value = "1.0-rc5"
        form.query_one("#channel", Input).value = "stable"
        await pilot.press("ctrl+p")
        await until(pilot, lambda: form.transcript.count("Nothing was changed.") == 2, "the second refusal")
        form.query_one("#channel", Input).value = ""
        await pilot.press("ctrl+p")
        await until(pilot, lambda: "Review the plan, then Run (ctrl+r)." in form.transcript, "the plan", 60)
        assert not form.query_one("#run").disabled

    drive(scenario, site_id="lab")


def test_without_sites_the_picker_says_how_to_get_one() -> None:
    async def scenario(app: ConsoleApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: "No site yet" in screen_text(app), "the hint")
        assert "appliance lab up" in screen_text(app)

    drive(scenario)


def test_a_new_site_opens_with_its_state_and_a_bootstrap_form() -> None:
    async def scenario(app: ConsoleApp, pilot: Pilot[None]) -> None:
        # the state says why there is nothing to show yet (wording: the status collector's)
        await until(
            pilot, lambda: "office-1" in screen_text(app) and "error:" in screen_text(app), "the state"
        )
        await pilot.press("b")
        await until(pilot, lambda: "Bootstrap — site office-1" in screen_text(app), "the bootstrap form")
        assert app.screen.query_one("#bootstrap_mode", Input).value == "fresh"

    drive(scenario, site_id="office-1")


def _journal_shape(site_dir: Path) -> dict[str, object]:
    """What a bootstrap recorded, without times and run-specific values (ports, tokens, digests)."""
    data = json.loads((site_dir / "journal.json").read_text())
    return {
        "releaseVersion": data.get("releaseVersion"),
        "bootstrapMode": data.get("bootstrapMode"),
        "runs": data.get("runs"),
        "phases": {k: v.get("state") for k, v in data["phases"].items()},
        "facts": sorted(data.get("facts", {})),
    }


def _objects(lab: LabHandle) -> set[tuple[str, str, str]]:
    keys = (
        "kustomize.toolkit.fluxcd.io/v1/kustomizations",
        "source.toolkit.fluxcd.io/v1/gitrepositories",
        "v1/configmaps",
        "v1/secrets",
        "v1/namespaces",
    )
    return {
        (key, o["metadata"].get("namespace", ""), o["metadata"]["name"])
        for key in keys
        for o in lab.list_objects(key)
        if not o["metadata"]["name"].startswith("kube-root-ca")
    }


@pytest.mark.slow
def test_bootstrap_from_the_console_and_from_the_shell_leave_the_same_journal_and_objects(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.cli_runner import invoke

    with running_lab(scenario="healthy", speed=SPEED, bootstrapped=False, virtual=True) as lab:
        mode = ["--bootstrap-mode", "fresh", "--release-version", "1.0-rc5", "--node-ip", "127.0.0.1"]
        r = invoke(["bootstrap", "--site-id", "lab", *mode, "--progress", "plain"])
        assert r.exit_code == 0, r.output[-2000:]
        shell_journal, shell_objects = _journal_shape(lab.site_dir), _objects(lab)
    monkeypatch.setenv("ALGA_APPLIANCE_HOME", str(tmp_path / "second-home"))  # a machine of its own
    with running_lab(scenario="healthy", speed=SPEED, bootstrapped=False, virtual=True) as lab:

        async def scenario(app: ConsoleApp, pilot: Pilot[None]) -> None:
            await until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
            await pilot.press("b")
            await until(pilot, lambda: "Bootstrap — site lab" in screen_text(app), "the bootstrap form")
            form = app.screen
            assert isinstance(form, BootstrapScreen)
            form.query_one("#release_version", Input).value = "1.0-rc5"
            form.query_one("#node_ip", Input).value = "127.0.0.1"
            await pilot.press("ctrl+p")
            await until(
                pilot, lambda: "Review the plan, then Run (ctrl+r)." in form.transcript, "the plan", 60
            )
            await pilot.press("ctrl+r")
            await until(pilot, lambda: "Done." in form.transcript, "the bootstrap", timeout=240)
            assert "Exit state: 0" in form.transcript

        drive(scenario, site_id="lab")
        assert _journal_shape(lab.site_dir) == shell_journal
        assert _objects(lab) == shell_objects


def test_leaving_a_running_bootstrap_stops_it_as_ctrl_c_does() -> None:
    with running_lab(scenario="healthy", speed=5.0, bootstrapped=False) as lab:
        lock = lab.site_dir / "operation.lock"

        async def scenario(app: ConsoleApp, pilot: Pilot[None]) -> None:
            await until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
            await pilot.press("b")
            await until(pilot, lambda: "Bootstrap — site lab" in screen_text(app), "the bootstrap form")
            form = app.screen
            assert isinstance(form, BootstrapScreen)
            form.query_one("#release_version", Input).value = "1.0-rc5"
            await pilot.press("ctrl+p")
            await until(
                pilot, lambda: "Review the plan, then Run (ctrl+r)." in form.transcript, "the plan", 60
            )
            await pilot.press("ctrl+r")
            await until(pilot, lambda: any("[phase 0/5]" in line for line in form.transcript), "phase 0")
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, HomeScreen), "home again")
            await until(pilot, lambda: "Done." in form.transcript, "the run to stop", timeout=60)
            assert "Exit state: 130" in form.transcript, form.transcript[-10:]
            assert not lock.exists()  # the site lock went with the run

        drive(scenario, site_id="lab")
