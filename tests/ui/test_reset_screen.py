"""The reset dialog on fixed data: what it lists, what Enter runs, and its layout."""

from __future__ import annotations

import time
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from tui.reset.hard import HardResetPlan
from tui.reset.service import ResetOverview
from tui.reset.steps import Outcome, Progress, StepEvent, StepState
from tui.reset.store import BASELINE, LastReset, SavedPart, StateRecord
from tui.ui.screens.reset import ResetScreen

NOW = 1_795_000_000.0  # fixed, so the snapshots show fixed times and ages


def record(name: str, age: float) -> StateRecord:
    return StateRecord(
        name=name,
        project="shop",
        created_at=NOW - age,
        parts={
            "db": SavedPart("postgres", "in the service", 8_200_000, "1 database, 2 tables", "a"),
            "cache": SavedPart("redis", "redis.dump", 2_048, "3 keys in 1 db", "b"),
        },
        skipped={"api": "the http plugin keeps no data to reset"},
    )


PLAN = HardResetPlan(
    project="shop",
    containers=(("id-api", "shop-api-1"), ("id-db", "shop-db-1")),
    volumes=("shop_db-data",),
    kept=("volume shared-models: external, never removed",),
    then=("seed db from seed.sql",),
    protected=(),
)


class FixedResets:
    """Fixed answers, and a record of what the dialog asked to run."""

    def __init__(self, *, baseline: bool = True) -> None:
        self.calls: list[tuple[str, object]] = []
        self.baseline = record(BASELINE, 3 * 3600) if baseline else None
        self.fail = ""  # a step's failure to report, when set

    def overview(self) -> ResetOverview:
        return ResetOverview(
            project="shop",
            baseline=self.baseline,
            baseline_problem=None if self.baseline else "no baseline has been taken",
            snapshots=(record("failing-order", 600), record("[bold]x[/]", 60)),
            last_reset=LastReset("fast reset", NOW - 300, 0.38, True),
            now=NOW,
        )

    def last_reset(self) -> LastReset | None:
        return None

    def plan_hard(self) -> HardResetPlan:
        return PLAN

    def _run(self, kind: str, arg: object, progress: Progress) -> Outcome:
        self.calls.append((kind, arg))
        steps: tuple[StepEvent, ...] = (
            StepEvent("reset db", StepState.DONE, "restored 1 database, checked", 0.21),
            StepEvent("reset cache", StepState.DONE, "restored 3 keys, checked", 0.02),
            StepEvent("reset api", StepState.SKIPPED, "keeps no data"),
        )
        if self.fail:
            title, _, detail = self.fail.partition(": ")
            steps = (StepEvent(title, StepState.FAILED, detail, 0.01),)
        for step in steps:
            progress(StepEvent(step.title, StepState.RUNNING))
            progress(step)
        return Outcome(kind, steps, 0.25)

    def fast_reset(self, progress: Progress) -> Outcome:
        return self._run("fast reset", None, progress)

    def hard_reset(self, plan: HardResetPlan, progress: Progress) -> Outcome:
        return self._run("hard reset", plan, progress)

    def restore(self, name: str, progress: Progress) -> Outcome:
        return self._run("restore", name, progress)

    def save(self, name: str, progress: Progress) -> Outcome:
        return self._run("save", name, progress)

    def take_baseline(self, progress: Progress) -> Outcome:
        return self._run("baseline", None, progress)

    def baseline_notice(self, outcome: Outcome) -> str | None:
        return None

    def delete(self, name: str, progress: Progress) -> Outcome:
        return self._run("delete", name, progress)


class DialogApp(App[None]):
    def __init__(self, resets: FixedResets) -> None:
        super().__init__()
        self.resets = resets
        self.result: list[Outcome | None] = []

    def compose(self) -> ComposeResult:
        yield Static("dashboard underneath")

    def on_mount(self) -> None:
        self.push_screen(ResetScreen(self.resets), self.result.append)


async def until(pilot: Pilot[Any], condition: Any, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def details(pilot: Pilot[Any]) -> str:
    return str(pilot.app.screen.query_one("#reset-details", Static).render())


async def loaded(pilot: Pilot[Any]) -> None:
    await until(
        pilot, lambda: pilot.app.screen.query_one(OptionList).option_count == 6, "the choices"
    )


async def test_enter_runs_the_fast_reset_and_shows_each_step() -> None:
    resets = FixedResets()
    app = DialogApp(resets)
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot)
        assert "Replaces the current data" in details(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: "done in 0.25 s" in details(pilot), "the outcome")
        assert resets.calls == [("fast reset", None)]
        text = details(pilot)
        assert "[ok  ] reset db  0.21 s  restored 1 database, checked" in text
        assert "[skip] reset api  keeps no data" in text
        await pilot.press("escape")
        await until(pilot, lambda: bool(app.result), "the dialog to close")
        outcome = app.result[0]
        assert outcome is not None
        assert outcome.kind == "fast reset"


async def test_a_hard_reset_runs_with_the_plan_that_was_shown() -> None:
    resets = FixedResets()
    app = DialogApp(resets)
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("down")
        await until(pilot, lambda: "shop_db-data" in details(pilot), "the plan")
        assert "shop-api-1" in details(pilot)
        assert "shared-models: external, never removed" in details(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: bool(resets.calls), "the hard reset")
        assert resets.calls == [("hard reset", PLAN)]


async def test_without_a_baseline_the_fast_reset_is_off_and_hard_is_offered() -> None:
    app = DialogApp(FixedResets(baseline=False))
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot)
        choices = pilot.app.screen.query_one(OptionList)
        assert choices.get_option_at_index(0).disabled
        assert choices.highlighted == 1


async def test_save_asks_for_a_valid_name() -> None:
    resets = FixedResets()
    app = DialogApp(resets)
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot)
        choices = pilot.app.screen.query_one(OptionList)
        choices.highlighted = 4  # "Save a snapshot of the data now…"
        await pilot.press("enter")
        name = pilot.app.screen.query_one("#reset-name", Input)
        await until(pilot, lambda: name.has_focus, "the name input")
        await pilot.press(*"../x", "enter")
        await pilot.pause()
        assert resets.calls == []
        name.value = ""
        await pilot.press(*"before-fix", "enter")
        await until(pilot, lambda: bool(resets.calls), "the save")
        assert resets.calls == [("save", "before-fix")]


async def test_d_deletes_the_highlighted_snapshot_after_confirming() -> None:
    resets = FixedResets()
    app = DialogApp(resets)
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot)
        pilot.app.screen.query_one(OptionList).highlighted = 2
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: bool(resets.calls), "the delete")
        assert resets.calls == [("delete", "failing-order")]


async def snapshot_ready(pilot: Pilot[Any]) -> None:
    await loaded(pilot)
    await pilot.pause()


def test_reset_dialog_snapshot(snap_compare: Any) -> None:
    assert snap_compare(
        DialogApp(FixedResets()), terminal_size=(100, 34), run_before=snapshot_ready
    )


def test_reset_dialog_done_snapshot(snap_compare: Any) -> None:
    async def run_fast_reset(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: "done in" in details(pilot), "the outcome")

    assert snap_compare(
        DialogApp(FixedResets()), terminal_size=(100, 34), run_before=run_fast_reset
    )


async def test_the_headers_last_reset_follows_resets_made_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The header's "reset N ago" is read again while the dashboard is open: it ages, and
    a reset run with `envdeck reset` in another terminal shows up."""
    from pathlib import Path

    from tests.ui.fixed_monitor import FixedMonitor
    from tui.config.settings import load_settings
    from tui.core.engine import DockerGateway
    from tui.ui.app import make_app
    from tui.ui.screens.dashboard import screen as dashboard_screen

    monkeypatch.setattr(dashboard_screen, "LAST_RESET_REFRESH_SECONDS", 0.1)

    class ResetsElsewhere(FixedResets):
        latest: LastReset | None = None

        def last_reset(self) -> LastReset | None:
            return self.latest

    resets = ResetsElsewhere()
    app = make_app(
        load_settings(Path(__file__).parent),
        DockerGateway(base_url="unix:///nonexistent"),
        FixedMonitor(),
        resets=resets,
    )

    def header() -> str:
        return str(app.screen.query_one("#summary").render())

    async with app.run_test(size=(120, 24)) as pilot:
        await until(pilot, lambda: "no reset yet" in header(), "the header")
        resets.latest = LastReset("hard reset", time.time() - 5, 6.55, True)
        await until(pilot, lambda: "(hard reset, 6.55 s)" in header(), "the new reset")
