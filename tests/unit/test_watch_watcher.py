"""The source watcher on real files and real watchfiles, and the run scheduler's policy."""

from __future__ import annotations

import asyncio
import queue
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.core.watch.scheduler import Action, Decision, RunScheduler
from tui.core.watch.watcher import ChangeBatch, SourceWatcher, _Settler

DEADLINE = 5.0  # seconds: generous for a loaded machine; a passing test takes far less


class Batches:
    """What the watcher delivered, read with a deadline."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[ChangeBatch] = queue.SimpleQueue()

    def put(self, batch: ChangeBatch) -> None:
        self.queue.put(batch)

    def next(self) -> ChangeBatch:
        return self.queue.get(timeout=DEADLINE)


@pytest.fixture
def delivered() -> Batches:
    return Batches()


@pytest.fixture
def watcher(tmp_path: Path, delivered: Batches) -> Iterator[SourceWatcher]:
    (tmp_path / "src").mkdir()
    watching = SourceWatcher(tmp_path, delivered.put)
    watching.start()
    assert watching.wait_ready(DEADLINE)
    yield watching
    watching.stop()


def test_a_burst_of_saves_is_one_batch(
    tmp_path: Path, watcher: SourceWatcher, delivered: Batches
) -> None:
    files = [tmp_path / "src" / f"m{i}.py" for i in range(50)]
    for file in files:  # a few milliseconds: a formatter, a `git checkout`
        file.write_text("x = 1\n")

    assert delivered.next().paths == frozenset(files)
    # Positive control: had the burst been split, its rest would come before this.
    (tmp_path / "src" / "after.py").write_text("")
    assert delivered.next().paths == {tmp_path / "src" / "after.py"}


def test_one_file_saved_again_and_again_is_one_batch(
    tmp_path: Path, watcher: SourceWatcher, delivered: Batches
) -> None:
    # watchfiles alone splits this every ~100 ms: the same (change, path) adds nothing new.
    target = tmp_path / "src" / "formatted.py"
    for i in range(50):
        target.write_text(f"x = {i}\n")
        time.sleep(0.005)

    batch = delivered.next()
    assert batch.paths == {target}
    assert batch.first_seen <= batch.last_seen
    (tmp_path / "src" / "after.py").write_text("")
    assert delivered.next().paths == {tmp_path / "src" / "after.py"}


def test_ignored_folders_never_make_a_batch(
    tmp_path: Path, watcher: SourceWatcher, delivered: Batches
) -> None:
    for name in (".pytest_cache/v/cache/lastfailed", "src/__pycache__/m.cpython-311.pyc"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "index").write_bytes(b"DIRC")
    (tmp_path / "src" / ".m.py.swp").write_bytes(b"b0VIM")
    (tmp_path / "src" / "4913").write_text("")
    (tmp_path / "src" / "4913").unlink()
    (tmp_path / "src" / "watched.py").write_text("")  # the positive control

    assert delivered.next().paths == {tmp_path / "src" / "watched.py"}


def test_a_batch_holds_the_final_state(
    tmp_path: Path, watcher: SourceWatcher, delivered: Batches
) -> None:
    temporary = tmp_path / "src" / "tmp_save.py"
    temporary.write_text("")
    temporary.unlink()
    (tmp_path / "src" / "kept.py").write_text("")

    batch = delivered.next()
    assert batch.paths == {temporary, tmp_path / "src" / "kept.py"}
    assert batch.removed == {temporary}


def test_stop_returns_promptly(watcher: SourceWatcher) -> None:
    started = time.monotonic()
    watcher.stop()

    assert time.monotonic() - started < 1.0
    assert not watcher.running


def test_a_missing_folder_is_reported_not_raised(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    watching = SourceWatcher(tmp_path / "gone", lambda batch: None, on_error=errors.append)
    watching.start()

    assert not watching.wait_ready(DEADLINE)
    assert isinstance(watching.error, FileNotFoundError)
    assert errors == [watching.error]


def test_a_failing_consumer_does_not_end_watching(tmp_path: Path) -> None:
    delivered = Batches()

    def consume(batch: ChangeBatch) -> None:
        delivered.put(batch)
        raise RuntimeError("the consumer's bug")

    with SourceWatcher(tmp_path, consume) as watching:
        assert watching.wait_ready(DEADLINE)
        (tmp_path / "a.py").write_text("")
        assert delivered.next().paths == {tmp_path / "a.py"}
        (tmp_path / "b.py").write_text("")
        assert delivered.next().paths == {tmp_path / "b.py"}


async def test_the_async_iterator_delivers_and_stops(tmp_path: Path) -> None:
    watching = SourceWatcher(tmp_path)
    batches = watching.abatches()

    async def first_batch() -> ChangeBatch:
        return await anext(batches)

    waiting = asyncio.create_task(first_batch())
    await asyncio.to_thread(watching.wait_ready, DEADLINE)
    (tmp_path / "a.py").write_text("")
    batch = await asyncio.wait_for(waiting, DEADLINE)
    assert batch.paths == {tmp_path / "a.py"}

    started = time.monotonic()
    watching.stop()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(batches), DEADLINE)
    assert time.monotonic() - started < 1.0


# ---------------------------------------------------------------------- settling, fake clock


def test_the_settler_waits_for_quiet_and_bounds_a_storm() -> None:
    settler = _Settler(quiet=0.2, max_wait=1.0)
    a, b = Path("/p/a.py"), Path("/p/b.py")

    settler.add({a}, now=10.0)
    assert settler.take(10.1, quiet_seen=False) is None  # not quiet yet
    settler.add({b}, now=10.15)
    assert settler.take(10.3, quiet_seen=False) is None  # 0.15 s since the last change
    batch = settler.take(10.36, quiet_seen=False)  # ignored churn woke it: quiet by the clock
    assert batch == ChangeBatch(frozenset({a, b}), first_seen=10.0, last_seen=10.15)

    for tick in range(12):  # a change every 0.1 s, for ever
        now = 20.0 + tick / 10
        settler.add({a}, now=now)
        if (stormy := settler.take(now, quiet_seen=False)) is not None:
            break
    assert stormy is not None
    assert (stormy.first_seen, stormy.last_seen) == (20.0, 21.0)  # cut at max_wait


def test_the_settler_trusts_a_quiet_reported_by_watchfiles() -> None:
    settler = _Settler(quiet=0.2, max_wait=1.0)
    settler.add({Path("/p/a.py")}, now=1.0)

    assert settler.take(1.0, quiet_seen=True) is not None


# ---------------------------------------------------------------------- RunScheduler

ROOT = Path("/p")
A, B, C = ROOT / "a.py", ROOT / "b.py", ROOT / "c.py"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def drive(scheduler: RunScheduler, clock: FakeClock, step: tuple[object, ...]) -> Decision:
    """Apply one input: ("batch", {paths}), ("started",), ("finished", run_id),
    ("not_ready", service, why), ("ready", service or None), ("wait", seconds)."""
    kind, *args = step
    if kind == "batch":
        return scheduler.batch_arrived(args[0])  # type: ignore[arg-type]
    if kind == "started":
        return scheduler.run_started()
    if kind == "finished":
        return scheduler.run_finished(args[0])  # type: ignore[arg-type]
    if kind == "not_ready":
        return scheduler.environment_not_ready(*args)  # type: ignore[arg-type]
    if kind == "ready":
        return scheduler.environment_ready(*args)  # type: ignore[arg-type]
    assert kind == "wait"
    clock.now += args[0]  # type: ignore[operator]
    return Decision(Action.NONE)


NOT_READY = ("not_ready", "postgres", "starting: health check 2 of 5")

TRANSITIONS: list[tuple[str, list[tuple[object, ...]], tuple[object, ...], Decision]] = [
    ("idle + batch -> start",
     [], ("batch", {A}),
     Decision(Action.START, frozenset({A}), run_id=1, trigger="a.py changed")),
    ("running + batch -> cancel it, rerun the union",
     [("batch", {A})], ("batch", {B}),
     Decision(Action.RESTART, frozenset({A, B}), run_id=2, cancel_run_id=1,
              trigger="a.py and b.py changed — restarted: the change came during a run")),
    ("a run by hand is cancelled by a change too",
     [("started",)], ("batch", {A}),
     Decision(Action.RESTART, frozenset({A}), run_id=2, cancel_run_id=1,
              trigger="a.py changed — restarted: the change came during a run")),
    ("a run by hand replaces the running one",
     [("batch", {A})], ("started",),
     Decision(Action.NONE, run_id=2, cancel_run_id=1, trigger="started by hand")),
    ("running + finished -> idle",
     [("batch", {A})], ("finished", 1),
     Decision(Action.NONE)),
    ("a cancelled run that ends late changes nothing",
     [("batch", {A}), ("batch", {B})], ("finished", 1),
     Decision(Action.NONE)),
    ("not ready + batch -> wait, saying for whom",
     [NOT_READY], ("batch", {A}),
     Decision(Action.WAIT, frozenset({A}),
              waiting_for="postgres (starting: health check 2 of 5)")),
    ("waiting + batch -> coalesce",
     [NOT_READY, ("batch", {A})], ("batch", {B}),
     Decision(Action.COALESCE, frozenset({A, B}),
              waiting_for="postgres (starting: health check 2 of 5)")),
    ("running + not ready + batch -> cancel and wait with the union",
     [("batch", {A}), ("not_ready", "redis", "unhealthy: PING timed out")], ("batch", {B}),
     Decision(Action.CANCEL_AND_WAIT, frozenset({A, B}), cancel_run_id=1,
              waiting_for="redis (unhealthy: PING timed out)")),
    ("a service failing during a run does not cancel it",
     [("batch", {A})], NOT_READY,
     Decision(Action.NONE, waiting_for="postgres (starting: health check 2 of 5)")),
    ("waiting + ready -> one run of everything held",
     [NOT_READY, ("batch", {A}), ("wait", 4.0), ("batch", {B, C}), ("wait", 2.0)], ("ready", None),
     Decision(Action.START, frozenset({A, B, C}), run_id=1,
              trigger="a.py, b.py and c.py changed (2 batches) — "
                      "ran once postgres became ready (waited 6 s)")),
    ("one service ready, another not -> still waiting",
     [NOT_READY, ("not_ready", "redis", "starting"), ("batch", {A})], ("ready", "postgres"),
     Decision(Action.WAIT, frozenset({A}), waiting_for="redis (starting)")),
    ("a service failing while holding -> wait for it too",
     [NOT_READY, ("batch", {A})], ("not_ready", "redis", "unhealthy: OOM"),
     Decision(Action.WAIT, frozenset({A}),
              waiting_for="postgres (starting: health check 2 of 5); redis (unhealthy: OOM)")),
    ("ready with nothing held -> nothing",
     [NOT_READY], ("ready", "postgres"),
     Decision(Action.NONE)),
    ("ready during a run by hand -> held until it finishes",
     [NOT_READY, ("batch", {A}), ("started",)], ("ready", None),
     Decision(Action.NONE)),
    ("... then its end starts the held run",
     [NOT_READY, ("batch", {A}), ("started",), ("ready", None)], ("finished", 1),
     Decision(Action.START, frozenset({A}), run_id=2,
              trigger="a.py changed — held until the run in progress finished")),
    ("a run by hand ending while not ready -> keep waiting",
     [NOT_READY, ("batch", {A}), ("started",)], ("finished", 1),
     Decision(Action.WAIT, frozenset({A}),
              waiting_for="postgres (starting: health check 2 of 5)")),
    ("an empty batch -> nothing",
     [], ("batch", set()),
     Decision(Action.NONE)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("given", "when", "then"),
    [pytest.param(given, when, then, id=name) for name, given, when, then in TRANSITIONS],
)
def test_run_scheduler_transitions(
    given: list[tuple[object, ...]], when: tuple[object, ...], then: Decision
) -> None:
    clock = FakeClock()
    scheduler = RunScheduler(root=ROOT, clock=clock)
    for step in given:
        drive(scheduler, clock, step)

    assert drive(scheduler, clock, when) == then


def test_the_status_says_what_is_going_on() -> None:
    clock = FakeClock()
    scheduler = RunScheduler(root=ROOT, clock=clock)
    assert scheduler.status.text == "watching for changes"

    scheduler.environment_not_ready("postgres", "starting")
    assert scheduler.status.text == "watching; not ready: postgres (starting)"

    scheduler.batch_arrived({A})
    clock.now += 12
    assert scheduler.status.state == "waiting"
    assert scheduler.status.text == "waiting 12 s for postgres (starting); holding a.py"

    decision = scheduler.environment_ready()
    assert scheduler.status.state == "running"
    assert scheduler.status.text == f"running: {decision.trigger}"

    assert decision.run_id is not None
    scheduler.run_finished(decision.run_id)
    assert scheduler.status.text == "watching for changes"
