"""The reset dialog (`X`): fast or hard reset, snapshots, the baseline, with live steps.

Enter runs the highlighted choice (the fast reset is highlighted first), Esc closes.
The details pane lists exactly what the highlighted choice destroys; a hard reset runs
with the very plan that was shown, and refuses if anything appeared since.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.presentation.reset_text import (
    age_text,
    describe_record,
    last_reset_text,
    size_text,
    step_line,
)
from tui.reset.hard import HardResetPlan
from tui.reset.service import ResetOverview, Resets
from tui.reset.steps import Outcome, StepEvent
from tui.reset.store import BASELINE, StateStoreError, check_name
from tui.ui.safe import safe_label
from tui.ui.screens.confirm import ConfirmScreen

FAST = "fast"
HARD = "hard"
SAVE = "save"
BASELINE_CHOICE = "baseline"
DELETE = "delete"
RESTORE = "restore:"  # + snapshot name


class StepReported(Message):
    """A step of the running operation started or ended (posted from its worker)."""

    def __init__(self, event: StepEvent) -> None:
        super().__init__()
        self.event = event


class ResetScreen(ModalScreen[Outcome | None]):
    """Dismisses with the outcome of what ran, or None when closed without running."""

    CSS_PATH = "reset.tcss"
    BINDINGS = [
        Binding("escape", "close", "Close", id="reset.close"),
        Binding("d", "delete_snapshot", "Delete snapshot", id="reset.delete_snapshot"),
    ]

    def __init__(self, resets: Resets) -> None:
        super().__init__()
        self.resets = resets
        self.overview: ResetOverview | None = None
        self.plan: HardResetPlan | None = None
        self.plan_error: str | None = None
        self.outcome: Outcome | None = None
        self.running = False
        self._steps: list[StepEvent] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="reset-dialog"):
            yield Static(Text("Reset the environment", style="bold"), id="reset-title")
            yield OptionList(id="reset-choices")
            yield Input(placeholder="snapshot name, then enter", id="reset-name")
            with VerticalScroll(id="reset-details-scroll"):
                yield Static(Text("loading…"), id="reset-details")
            yield Static(
                Text("enter run · d delete a snapshot · esc close", style="dim"), id="reset-hint"
            )

    def on_mount(self) -> None:
        self.query_one("#reset-name", Input).display = False
        self.query_one(OptionList).focus()
        self.load_overview()

    # ------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="reset-overview", exit_on_error=False)
    def load_overview(self) -> None:
        overview = self.resets.overview()
        self.app.call_from_thread(self._show_overview, overview)

    def _show_overview(self, overview: ResetOverview) -> None:
        self.overview = overview
        self.query_one("#reset-title", Static).update(
            safe_label(
                f"Reset {overview.project}  ·  {last_reset_text(overview.last_reset, overview.now)}"
            )
        )
        choices = self.query_one(OptionList)
        choices.clear_options()
        fast = "Fast reset: every service's data back to the baseline"
        if overview.baseline is not None and overview.baseline_problem is None:
            fast += f" (taken {age_text(overview.now - overview.baseline.created_at)})"
        choices.add_option(Option(fast, id=FAST, disabled=overview.baseline_problem is not None))
        choices.add_option(
            Option("Hard reset: remove containers and volumes, recreate, seed", id=HARD)
        )
        for record in overview.snapshots:
            label = f"Restore snapshot {record.name}  ({size_text(record.size_bytes)})"
            choices.add_option(Option(safe_label(label), id=RESTORE + record.name))
        choices.add_option(Option(Text("Save a snapshot of the data now…"), id=SAVE))
        choices.add_option(
            Option(Text("Retake the baseline from the data now"), id=BASELINE_CHOICE)
        )
        choices.highlighted = 0 if overview.baseline_problem is None else 1

    @work(thread=True, exclusive=True, group="reset-plan", exit_on_error=False)
    def load_plan(self) -> None:
        try:
            plan = self.resets.plan_hard()
        except Exception as error:  # shown in place of the plan: the engine, another checkout
            self.app.call_from_thread(self._show_plan, None, str(error))
            return
        self.app.call_from_thread(self._show_plan, plan, None)

    def _show_plan(self, plan: HardResetPlan | None, error: str | None) -> None:
        self.plan, self.plan_error = plan, error
        if self._highlighted() == HARD:
            self._show_details(HARD)

    # ------------------------------------------------------------ details

    def _highlighted(self) -> str | None:
        choices = self.query_one(OptionList)
        if choices.highlighted is None:
            return None
        return choices.get_option_at_index(choices.highlighted).id

    @on(OptionList.OptionHighlighted)
    def _highlight(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id == HARD and self.plan is None:
            self.load_plan()
        if not self.running and self.outcome is None:
            self._show_details(event.option.id)

    def _show_details(self, choice: str | None) -> None:
        self.query_one("#reset-details", Static).update(Text(self._details(choice)))

    def _details(self, choice: str | None) -> str:
        overview = self.overview
        if overview is None or choice is None:
            return "loading…"
        protected = (
            f"\nprotected, never reset: {', '.join(overview.protected)}"
            if overview.protected
            else ""
        )
        if choice == FAST:
            if overview.baseline_problem is not None or overview.baseline is None:
                return f"No fast reset: {overview.baseline_problem}."
            return (
                "Replaces the current data of these services with the baseline:\n"
                + describe_record(overview.baseline, overview.now, clock=False)
                + protected
            )
        if choice == HARD:
            if self.plan_error is not None:
                return f"No hard reset: {self.plan_error}"
            if self.plan is None:
                return "listing what a hard reset would remove…"
            return "\n".join(self.plan.lines())
        if choice == SAVE:
            return "Saves every service's data under a name, to restore again and again."
        if choice == BASELINE_CHOICE:
            return (
                "Makes the data as it is now the baseline that fast resets return to." + protected
            )
        if choice.startswith(RESTORE):
            name = choice[len(RESTORE) :]
            record = next(r for r in overview.snapshots if r.name == name)
            return (
                "Replaces the current data of these services with the snapshot:\n"
                + describe_record(record, overview.now, clock=False)
                + protected
            )
        return ""

    # ------------------------------------------------------------ running

    @on(OptionList.OptionSelected)
    def _choose(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        choice = event.option.id
        if self.running or self.outcome is not None or choice is None:
            return
        if choice == SAVE:
            name_input = self.query_one("#reset-name", Input)
            name_input.display = True
            name_input.focus()
            return
        if choice == HARD and self.plan is None:
            self.notify("the list of what a hard reset removes is not ready yet", timeout=3)
            return
        self._start(choice)

    @on(Input.Submitted, "#reset-name")
    def _save(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        try:
            check_name(name)
        except StateStoreError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        if name == BASELINE:
            self.notify("'baseline' is the automatic state: retake it instead", severity="error")
            return
        event.input.display = False
        self._start(SAVE, name)

    def _start(self, choice: str, name: str = "") -> None:
        self.running = True
        self._steps = []
        self.query_one(OptionList).disabled = True
        self.query_one("#reset-hint", Static).update(Text("running…", style="dim"))
        self.run_choice(choice, name, self.plan)

    @work(thread=True, exclusive=True, group="reset-run", exit_on_error=False)
    def run_choice(self, choice: str, name: str, plan: HardResetPlan | None) -> None:
        def progress(event: StepEvent) -> None:
            self.post_message(StepReported(event))

        if choice == FAST:
            outcome = self.resets.fast_reset(progress)
        elif choice == HARD:
            assert plan is not None  # _choose waits for the plan
            outcome = self.resets.hard_reset(plan, progress)
        elif choice == SAVE:
            outcome = self.resets.save(name, progress)
        elif choice == BASELINE_CHOICE:
            outcome = self.resets.take_baseline(progress)
        elif choice == DELETE:
            outcome = self.resets.delete(name, progress)
        else:
            outcome = self.resets.restore(choice[len(RESTORE) :], progress)
        self.app.call_from_thread(self._finished, outcome)

    @on(StepReported)
    def _step(self, message: StepReported) -> None:
        event = message.event
        self._steps = [step for step in self._steps if step.title != event.title]
        self._steps.append(event)
        self._show_steps()

    def _show_steps(self, footer: str = "") -> None:
        lines = [step_line(step) for step in self._steps]
        if footer:
            lines += ["", footer]
        self.query_one("#reset-details", Static).update(Text("\n".join(lines)))

    def _finished(self, outcome: Outcome) -> None:
        self.running = False
        self.outcome = outcome
        verdict = "done" if outcome.ok else f"FAILED: {outcome.failure_summary}"
        self._show_steps(f"{outcome.kind}: {verdict} in {outcome.seconds:.2f} s")
        self.query_one("#reset-hint", Static).update(Text("esc close", style="dim"))
        self.set_class(not outcome.ok, "-failed")
        self.set_class(outcome.ok, "-done")

    # ------------------------------------------------------------ keys

    def action_close(self) -> None:
        if self.running:
            self.notify("still running: it closes by itself when done", timeout=3)
            return
        self.dismiss(self.outcome)

    def action_delete_snapshot(self) -> None:
        choice = self._highlighted()
        if self.running or self.outcome is not None or not choice or not choice.startswith(RESTORE):
            return
        name = choice[len(RESTORE) :]

        def confirmed(answer: str | None) -> None:
            if answer == DELETE:
                self._start(DELETE, name)

        self.app.push_screen(
            ConfirmScreen(
                f"Delete snapshot {name}?",
                "Its saved data is removed; the services' current data is not touched.",
                [(DELETE, "Delete")],
            ),
            confirmed,
        )
