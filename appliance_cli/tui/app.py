"""The operator's console (Textual): site picker, home (tier ladder, top blockers, actions),
workloads with live logs, and the action screens (plan first, confirm, run with progress).

Every screen is a view over the engines the commands use: ``status.live`` for the status
(every ``REFRESH_SECONDS``, as ``status --watch``), ``logs.ComponentLogs`` for logs,
``tui.actions`` for bootstrap, reset and support bundle. Blocking work runs in thread
workers; their results come back with ``call_from_thread``. Usable at 80×24.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Footer,
    Input,
    Label,
    Log,
    OptionList,
    RichLog,
    Static,
)
from textual.widgets.option_list import Option

from appliance_cli.errors import ApplianceError
from appliance_cli.tui import actions
from appliance_cli.tui.reporter import LineReporter
from appliance_cli.tui.sites import SiteEntry, list_sites, site_rollup
from appliance_cli.tui.views import blocker_lines, ladder_lines, workload_rows

if TYPE_CHECKING:
    from appliance_cli.bootstrap.options import BootstrapOptions
    from appliance_cli.status.model import StatusDocument
    from appliance_cli.status.snapshot import ClusterSnapshot

REFRESH_SECONDS = 5.0  # as `appliance status --watch`


def post(app: App[Any], callback: Callable[..., object], *args: object) -> None:
    """Hand a worker's result to the app's thread; dropped once the app has stopped (quitting)."""
    if not app.is_running:
        return
    try:
        app.call_from_thread(callback, *args)
    except RuntimeError:  # stopped between the check and the call
        return


def error_text(exc: ApplianceError) -> str:
    return f"error: {exc.message}" + (f" (hint: {exc.hint})" if exc.hint else "")


class HelpScreen(ModalScreen[None]):
    """The keys of the screen underneath."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    #help {
        width: 60; height: auto; max-height: 20;
        border: round $accent; padding: 0 1; background: $surface;
    }
    """

    def __init__(self, title: str, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self._title, self._keys = title, keys

    def compose(self) -> ComposeResult:
        lines = [f"{self._title} — keys", ""]
        lines += [f"  {k:<12} {what}" for k, what in self._keys]
        lines += ["", "  Esc closes this help."]
        yield Static("\n".join(lines), id="help", markup=False)

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)


class _Base(Screen[None]):
    """Every screen: ``?`` shows its keys, the footer lists them."""

    TITLE_TEXT = ""

    @property
    def shown(self) -> bool:
        """Still on the screen stack: results of work that outlived the screen are dropped."""
        try:
            return self in self.app.screen_stack
        except Exception:  # no app any more (quitting)
            return False

    def action_help(self) -> None:
        keys = []
        for b in self.BINDINGS:
            if isinstance(b, Binding) and b.description:
                keys.append((b.key.replace("question_mark", "?"), b.description))
        self.app.push_screen(HelpScreen(self.TITLE_TEXT, keys))


# Site picker -------------------------------------------------------------------------------
class SitePickerScreen(_Base):
    TITLE_TEXT = "Sites"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open site"),
        Binding("r", "refresh", "Refresh"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "app.quit", "Quit"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("Alga PSA appliance — pick a site", id="title", markup=False)
        yield DataTable(id="sites", cursor_type="row", zebra_stripes=True)
        yield Static("", id="hint", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#sites", DataTable)
        table.add_column("site", width=22)
        table.add_column("state", width=28)
        table.add_column("message", width=60)
        self.action_refresh()

    def action_refresh(self) -> None:
        table = self.query_one("#sites", DataTable)
        table.clear()
        entries = list_sites()
        for e in entries:
            table.add_row(e.site_id, "…", "asking the appliance", key=e.site_id)
        hint = self.query_one("#hint", Static)
        hint.update(
            "No site yet: 'appliance lab up' makes the lab's; 'appliance tui --site-id NAME' "
            "opens a new site to bootstrap."
            if not entries
            else "Enter opens a site."
        )
        for e in entries:
            self._rollup(e)

    @work(thread=True, group="rollups")
    def _rollup(self, entry: SiteEntry) -> None:
        r = site_rollup(entry)
        post(self.app, self._show_rollup, entry.site_id, r.state, r.message)

    def _show_rollup(self, site_id: str, state: str, message: str) -> None:
        table = self.query_one("#sites", DataTable)
        try:
            table.update_cell(site_id, table.ordered_columns[1].key, state)
            table.update_cell(site_id, table.ordered_columns[2].key, message)
        except Exception:  # the row went away with a refresh
            return

    def action_open(self) -> None:
        table = self.query_one("#sites", DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key:
            self.app.push_screen(HomeScreen(str(key)))

    @on(DataTable.RowSelected, "#sites")
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.app.push_screen(HomeScreen(str(event.row_key.value)))


# Home --------------------------------------------------------------------------------------
class HomeScreen(_Base):
    TITLE_TEXT = "Home"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "run('bootstrap')", "Bootstrap"),
        Binding("w", "run('workloads')", "Workloads"),
        Binding("s", "run('support-bundle')", "Bundle"),
        Binding("x", "run('reset')", "Reset"),
        Binding("u", "run('upgrade')", "Upgrade", show=False),
        Binding("p", "run('repair')", "Repair", show=False),
        Binding("r", "refresh", "Refresh", show=False),
        Binding("escape", "app.pop_screen", "Sites"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "app.quit", "Quit"),
    ]
    DEFAULT_CSS = """
    #menu { width: 24; height: 100%; }
    #right { width: 1fr; }
    #ladder { height: auto; }
    #blockers { height: auto; margin-top: 1; }
    """

    def __init__(self, site_id: str) -> None:
        super().__init__()
        self.site_id = site_id
        self.doc: StatusDocument | None = None
        self.snapshot: ClusterSnapshot | None = None

    def compose(self) -> ComposeResult:
        yield Static(f"Site {self.site_id}", id="title", markup=False)
        with Horizontal():
            options: list[Option] = []
            group = ""
            for entry in actions.menu():
                if entry.group != group:
                    group = entry.group
                    options.append(Option(f"── {group}", id=f"group-{group}", disabled=True))
                label = entry.label if entry.available else f"{entry.label} ({entry.note})"
                options.append(Option(label, id=entry.key, disabled=not entry.available))
            yield OptionList(*options, id="menu")
            with Vertical(id="right"):
                yield Static("Asking the appliance …", id="rollup", markup=False)
                yield Static("", id="ladder", markup=False)
                yield Static("", id="blockers", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.action_refresh()
        self.set_interval(REFRESH_SECONDS, self.action_refresh)
        self.query_one("#menu", OptionList).focus()

    def action_refresh(self) -> None:
        self._collect()

    @work(thread=True, exclusive=True, group="status")
    def _collect(self) -> None:
        from appliance_cli.status.live import classify_live, collect_snapshot

        try:
            snap = collect_snapshot(self.site_id)
            doc = classify_live(snap)
        except ApplianceError as exc:
            post(self.app, self._show_error, exc)
            return
        post(self.app, self._show, snap, doc)

    def _show_error(self, exc: ApplianceError) -> None:
        if self.shown:  # a collection may end after the screen was left
            self.query_one("#rollup", Static).update(error_text(exc))

    def _show(self, snap: ClusterSnapshot, doc: StatusDocument) -> None:
        self.snapshot, self.doc = snap, doc
        if not self.shown:
            return
        head = f"{doc.rollup.state}: {doc.rollup.message}\nNext: {doc.rollup.next_action}"
        if doc.urls.login_url:
            head += f"\nLogin: {doc.urls.login_url}"
        self.query_one("#rollup", Static).update(head)
        self.query_one("#ladder", Static).update("\n".join(ladder_lines(doc)))
        self.query_one("#blockers", Static).update("Top blockers:\n" + "\n".join(blocker_lines(doc)))
        for screen in self.app.screen_stack:
            if isinstance(screen, WorkloadsScreen) and screen.site_id == self.site_id:
                screen.show(snap, doc)

    @on(OptionList.OptionSelected, "#menu")
    def _menu(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.action_run(event.option.id)

    def action_run(self, what: str) -> None:
        entry = next((e for e in actions.menu() if e.key == what), None)
        if entry is None or not entry.available:
            self.notify(f"{entry.label if entry else what}: {actions.NOT_AVAILABLE}", severity="warning")
            return
        screens: dict[str, Callable[[], Screen[None]]] = {
            "bootstrap": lambda: BootstrapScreen(self.site_id),
            "workloads": lambda: WorkloadsScreen(self.site_id, self),
            "support-bundle": lambda: SupportBundleScreen(self.site_id),
            "reset": lambda: ResetScreen(self.site_id),
            "upgrade": lambda: UpgradeScreen(self.site_id),
            "repair": lambda: RepairScreen(self.site_id),
        }
        if what == "status":
            self.action_refresh()
            return
        factory = screens.get(what)
        if factory is not None:
            self.app.push_screen(factory())


# Workloads and logs ------------------------------------------------------------------------
class WorkloadsScreen(_Base):
    TITLE_TEXT = "Workloads"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "logs", "Logs"),
        Binding("r", "refresh", "Refresh"),
        Binding("escape", "app.pop_screen", "Home"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, site_id: str, home: HomeScreen) -> None:
        super().__init__()
        self.site_id = site_id
        self.home = home

    def compose(self) -> ComposeResult:
        yield Static(f"Workloads of {self.site_id} (refreshed every {REFRESH_SECONDS:.0f}s)", markup=False)
        yield DataTable(id="workloads", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#workloads", DataTable)
        for title, width in (("tier", 10), ("component", 16), ("status", 11), ("pod", 17)):
            table.add_column(title, width=width)
        table.add_columns("ready", "rst", "age")
        if self.home.snapshot is not None and self.home.doc is not None:
            self.show(self.home.snapshot, self.home.doc)
        table.focus()

    def action_refresh(self) -> None:
        self.home.action_refresh()

    def show(self, snap: ClusterSnapshot, doc: StatusDocument) -> None:
        table = self.query_one("#workloads", DataTable)
        cursor = table.cursor_row
        table.clear()
        for i, row in enumerate(workload_rows(snap, doc)):
            pod = row.pod if len(row.pod) <= 17 else "…" + row.pod[-16:]
            cells = (row.tier, row.component, row.status, pod, row.ready, str(row.restarts), row.age)
            table.add_row(*cells, key=f"{i}")
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))

    def _component_at_cursor(self) -> str | None:
        table = self.query_one("#workloads", DataTable)
        if table.row_count == 0:
            return None
        return str(table.get_row_at(table.cursor_row)[1])

    def action_logs(self) -> None:
        comp = self._component_at_cursor()
        if comp:
            self.app.push_screen(LogsScreen(self.site_id, comp))

    @on(DataTable.RowSelected, "#workloads")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_logs()


class LogsScreen(_Base):
    TITLE_TEXT = "Logs"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, site_id: str, component: str) -> None:
        super().__init__()
        self.site_id, self.component = site_id, component
        self.stop = threading.Event()

    def compose(self) -> ComposeResult:
        yield Static(f"Logs of {self.component} (followed live, secrets redacted)", markup=False)
        yield Log(id="log", max_lines=5000)
        yield Footer()

    def on_mount(self) -> None:
        self._follow()

    @work(thread=True, group="logs")
    def _follow(self) -> None:
        from appliance_cli.logs import (
            ContainerRef,
            LogLine,
            LogOptions,
            explain_not_running,
            open_component_logs,
        )

        log = self.query_one("#log", Log)

        def write(text: str) -> None:
            post(self.app, log.write_line, text)

        try:
            source = open_component_logs(self.site_id, self.component)
        except ApplianceError as exc:
            write(error_text(exc))
            return

        def sink(line: LogLine) -> None:
            # at 80 columns the pod's own suffix says which pod; the title says the component
            write(f"{line.pod.rsplit('-', 1)[-1]}/{line.container}│ {line.text}")

        def idle(refs: list[ContainerRef]) -> None:
            for text in explain_not_running(self.site_id, self.component).lines():
                write(text)
            write("Waiting for it to start …")

        source.follow(LogOptions(follow=True, tail=200), sink, self.stop, on_idle=idle)

    def on_unmount(self) -> None:
        self.stop.set()

    def action_back(self) -> None:
        self.stop.set()
        self.app.pop_screen()


# Actions -----------------------------------------------------------------------------------
class ConfirmScreen(ModalScreen[bool]):
    """Yes/no, or (``expect``) a word to type, as the command asks on a terminal."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    #box { width: 70; height: auto; border: round $warning; padding: 0 1; background: $surface; }
    #box Horizontal { height: auto; margin-top: 1; }
    #box Input { margin-top: 1; }
    """

    def __init__(self, question: str, expect: str | None = None) -> None:
        super().__init__()
        self.question, self.expect = question, expect

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static(self.question, markup=False)
            if self.expect is not None:
                yield Input(placeholder="type it here", id="typed", compact=True)
            with Horizontal():
                yield Button("Confirm", id="yes", variant="error", compact=True)
                yield Label("  ")
                yield Button("Cancel", id="no", compact=True)

    @on(Button.Pressed, "#yes")
    @on(Input.Submitted, "#typed")
    def _yes(self) -> None:
        if self.expect is not None:
            typed = self.query_one("#typed", Input).value
            self.dismiss(typed.strip() == self.expect)
            return
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_cancel(self) -> None:
        self.dismiss(False)


class ActionScreen(_Base):
    """A form of the command's options; Plan (dry run) first, then Run with progress."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+p", "plan", "Plan"),
        Binding("ctrl+r", "execute", "Run"),
        Binding("escape", "back", "Back"),
        Binding("question_mark", "help", "Help"),
    ]
    DEFAULT_CSS = """
    #form { height: auto; max-height: 9; }
    .row { height: 1; }
    .row Label { width: 30; }
    .row Input { width: 1fr; }
    #buttons { height: 1; margin: 1 0 0 0; }
    #buttons Label { width: 2; }
    #output { height: 1fr; min-height: 6; border: round $panel; }
    """

    def __init__(self, site_id: str) -> None:
        super().__init__()
        self.site_id = site_id
        self.planned: Any = None
        self.running = False
        self.transcript: list[str] = []
        self.stop = threading.Event()

    # subclasses ---------------------------------------------------------------------------
    def form(self) -> ComposeResult:
        yield from ()

    def plan(self) -> tuple[Any, list[str]]:
        raise NotImplementedError

    def confirm(self, on_answer: Callable[[bool | None], None]) -> None:
        on_answer(True)

    def execute(self, planned: Any, write: Callable[[str], None]) -> list[str]:
        raise NotImplementedError

    # shared ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(f"{self.TITLE_TEXT} — site {self.site_id}", markup=False)
        with VerticalScroll(id="form"):
            yield from self.form()
        with Horizontal(id="buttons"):
            yield Button("Plan (dry run)", id="plan", variant="primary", compact=True)
            yield Label("  ")
            yield Button("Run", id="run", variant="warning", disabled=True, compact=True)
            yield Label("  ")
            yield Button("Back", id="back", compact=True)
        yield RichLog(id="output", wrap=True, min_width=20)
        yield Footer()

    def write(self, text: str) -> None:
        """One line of output (wrapped at the terminal's width); ``transcript`` keeps them all."""
        self.transcript.append(text)
        if self.shown:  # an action may finish after its screen was left
            self.query_one("#output", RichLog).write(text)

    def _on_change(self) -> None:
        if not self.running:
            self.planned = None
            self.query_one("#run", Button).disabled = True

    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self._on_change()

    @on(Button.Pressed, "#plan")
    def action_plan(self) -> None:
        if self.running:
            return
        self.query_one("#output", RichLog).clear()
        self.write("Planning (dry run: nothing is changed) …")
        self._plan()

    @work(thread=True, exclusive=True, group="action")
    def _plan(self) -> None:
        try:
            planned, lines = self.plan()
        except ApplianceError as exc:
            post(self.app, self._planned, None, [error_text(exc), "Nothing was changed."])
            return
        post(self.app, self._planned, planned, lines)

    def _planned(self, planned: Any, lines: list[str]) -> None:
        for line in lines:
            self.write(line)
        self.planned = planned
        if not self.shown:
            return
        self.query_one("#run", Button).disabled = planned is None
        if planned is not None:
            self.write("Review the plan, then Run (ctrl+r).")

    @on(Button.Pressed, "#run")
    def action_execute(self) -> None:
        if self.planned is None or self.running:
            self.notify("Plan first (ctrl+p).", severity="warning")
            return

        def answered(ok: bool | None) -> None:
            if not ok:
                self.write("Cancelled: nothing was changed.")
                return
            self.running = True
            self.query_one("#run", Button).disabled = True
            self.query_one("#plan", Button).disabled = True
            self.write("Running …")
            self._execute(self.planned)

        self.confirm(answered)

    def _execute(self, planned: Any) -> None:
        # An app worker, not the screen's: leaving the screen must not drop the end of the run
        # (the run stops at its next safe point and its last lines still arrive).
        app = self.app
        app.run_worker(lambda: self._execute_body(app, planned), thread=True, group=f"action-{id(self)}")

    def _execute_body(self, app: App[None], planned: Any) -> None:
        def write(text: str) -> None:
            post(app, self.write, text)

        try:
            lines = self.execute(planned, write)
        except ApplianceError as exc:
            lines = [error_text(exc), f"Exit state: {exc.exit_code}"]
        except KeyboardInterrupt:
            lines = ["interrupted", "Exit state: 130"]
        except Exception as exc:  # never lose the end of a run: say what broke
            lines = [f"error: {type(exc).__name__}: {exc}", "Exit state: 1"]
        post(app, self._done, lines)

    def _done(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)
        self.running = False
        self.planned = None
        self.write("Done.")
        if self.shown:
            self.query_one("#plan", Button).disabled = False

    def on_unmount(self) -> None:
        self.stop.set()  # leaving (or quitting) stops a run at its next safe point, as Ctrl-C does

    @on(Button.Pressed, "#back")
    def action_back(self) -> None:
        if self.running:
            self.notify("Still running: it stops at the next safe point if you leave.", severity="warning")
            self.stop.set()
        self.app.pop_screen()


def _row(label: str, widget: Any) -> Horizontal:
    return Horizontal(Label(label, markup=False), widget, classes="row")


class BootstrapScreen(ActionScreen):
    TITLE_TEXT = "Bootstrap"

    def form(self) -> ComposeResult:
        try:
            defaults = actions.bootstrap_defaults(self.site_id)
        except ApplianceError:
            defaults = {}
        for name, flag, label in actions.BOOTSTRAP_FIELDS:
            yield _row(label, Input(value=defaults.get(name, ""), id=name, placeholder=flag, compact=True))
        for name, _flag, label in actions.BOOTSTRAP_FLAGS:
            yield Checkbox(label, id=name, compact=True)

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, _flag, _label in actions.BOOTSTRAP_FIELDS:
            out[name] = self.query_one(f"#{name}", Input).value
        for name, _flag, _label in actions.BOOTSTRAP_FLAGS:
            out[name] = self.query_one(f"#{name}", Checkbox).value
        return out

    def plan(self) -> tuple[Any, list[str]]:
        values = self.app.call_from_thread(self.values)
        options = actions.build_bootstrap_options(self.site_id, values, dry_run=True)
        result = actions.plan_bootstrap(options)
        return options, actions.bootstrap_plan_lines(result)

    def confirm(self, on_answer: Callable[[bool | None], None]) -> None:
        options: BootstrapOptions = self.planned
        if options.force:
            question = (
                f"--force resets site {self.site_id} first: its application data is DELETED. "
                "Type the site id to continue."
            )
            self.app.push_screen(ConfirmScreen(question, expect=self.site_id), on_answer)
            return
        on_answer(True)

    def execute(self, planned: Any, write: Callable[[str], None]) -> list[str]:
        options: BootstrapOptions = planned.model_copy(update={"dry_run": False})
        result = actions.run_bootstrap(options, LineReporter(write), write, self.stop)
        return actions.bootstrap_summary_lines(self.site_id, result)


class ResetScreen(ActionScreen):
    TITLE_TEXT = "Reset"

    def form(self) -> ComposeResult:
        yield Static(
            "Deletes the Alga application and its data for a fresh install; Talos, Kubernetes and "
            "the status page stay. Plan shows the real objects it would touch.",
            markup=False,
        )

    def plan(self) -> tuple[Any, list[str]]:
        view = actions.plan_reset(self.site_id)
        return view, [*view.lines, "", "Dry run: nothing was changed."]

    def confirm(self, on_answer: Callable[[bool | None], None]) -> None:
        question = f"This deletes the application data of site {self.site_id}. Type the site id to continue."
        self.app.push_screen(ConfirmScreen(question, expect=self.site_id), on_answer)

    def execute(self, planned: Any, write: Callable[[str], None]) -> list[str]:
        from appliance_cli.reset.execute import TOTAL_STEPS

        return actions.run_reset(planned, LineReporter(write, label="reset", total=TOTAL_STEPS), self.stop)


class SupportBundleScreen(ActionScreen):
    TITLE_TEXT = "Support bundle"

    def form(self) -> ComposeResult:
        yield _row("Output directory (--output)", Input(value=".", id="output-dir", compact=True))

    def plan(self) -> tuple[Any, list[str]]:
        output = self.app.call_from_thread(lambda: self.query_one("#output-dir", Input).value)
        return actions.plan_support_bundle(self.site_id, output)

    def execute(self, planned: Any, write: Callable[[str], None]) -> list[str]:
        return actions.run_support_bundle(self.site_id, planned)


class UpgradeScreen(ActionScreen):
    TITLE_TEXT = "Upgrade"

    def form(self) -> ComposeResult:
        yield _row(
            "Release version", Input(id="release_version", placeholder="--release-version", compact=True)
        )
        yield _row(
            "or channel (candidate|stable)", Input(id="channel", placeholder="--channel", compact=True)
        )

    def plan(self) -> tuple[Any, list[str]]:
        version, channel = self.app.call_from_thread(
            lambda: (self.query_one("#release_version", Input).value, self.query_one("#channel", Input).value)
        )
        return actions.plan_upgrade(self.site_id, version, channel)

    def execute(self, planned: Any, write: Callable[[str], None]) -> list[str]:
        return actions.run_upgrade(planned, write, self.stop)


class RepairScreen(ActionScreen):
    TITLE_TEXT = "Repair"

    def form(self) -> ComposeResult:
        yield _row(
            "Blocker codes (optional)",
            Input(id="codes", placeholder="--code a,b (default: all)", compact=True),
        )

    def plan(self) -> tuple[Any, list[str]]:
        codes = self.app.call_from_thread(lambda: self.query_one("#codes", Input).value)
        view = actions.plan_repair(self.site_id, codes)
        return view, view.lines

    def confirm(self, on_answer: Callable[[bool | None], None]) -> None:
        self.app.push_screen(ConfirmScreen("Carry out this repair?"), on_answer)

    def execute(self, planned: Any, write: Callable[[str], None]) -> list[str]:
        return actions.run_repair(planned, write)


class ConsoleApp(App[None]):
    """``appliance tui``: starts at the site picker, or at a site's home with ``site_id``."""

    TITLE = "Alga PSA appliance"
    ENABLE_COMMAND_PALETTE = False  # ctrl+p plans an action; every action has its own key
    CSS = """
    Screen { layout: vertical; }
    #title { text-style: bold; }
    #sites { height: auto; max-height: 16; }
    """

    def __init__(self, site_id: str | None = None) -> None:
        super().__init__()
        self.start_site = site_id

    def on_mount(self) -> None:
        self.push_screen(SitePickerScreen())
        if self.start_site:
            self.push_screen(HomeScreen(self.start_site))
