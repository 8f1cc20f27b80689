"""Log following against the real engine, on throwaway containers of a throwaway project.

Containers come from the local `envdeck-base:bookworm` image and carry the compose labels
of a project named for this run only, so nothing else is touched; they are removed at the
end. Conditions are awaited with deadlines, never with bare sleeps.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

import pytest
from docker.models.containers import Container

from tests.integration.throwaway_containers import new_project, run_service, wait_for
from tui.core.engine import PROJECT_LABEL, DockerGateway
from tui.core.log_buffer import LogLine, LogRing, now_timestamp
from tui.core.logs import (
    DockerLogSource,
    FollowOptions,
    MergedLogFollower,
    ServiceLogFollower,
    reader,
)

DOCKER_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z")


class StartService(Protocol):
    def __call__(self, service: str, script: str, *, tty: bool = False) -> Container: ...


@pytest.fixture(scope="module")
def project(gateway: DockerGateway) -> Iterator[str]:
    name = new_project("logs")
    yield name
    for container in gateway.client.containers.list(
        all=True, filters={"label": f"{PROJECT_LABEL}={name}"}
    ):
        container.remove(force=True)


@pytest.fixture
def start_service(gateway: DockerGateway, project: str) -> StartService:
    """Run `script` (bash, or python3 when it starts with "#py") as a service of `project`."""

    def start(service: str, script: str, *, tty: bool = False) -> Container:
        command = ["python3", "-c", script] if script.startswith("#py") else ["bash", "-c", script]
        name = f"{project}-{service}-{uuid.uuid4().hex[:4]}"
        return run_service(gateway, project, service, command, name=name, tty=tty)

    return start


class Collected:
    """What a follower delivered, gathered from its callback thread."""

    def __init__(self) -> None:
        self.lines: list[LogLine] = []
        self.batches = 0
        self._lock = threading.Lock()

    def __call__(self, batch: Sequence[LogLine]) -> None:
        with self._lock:
            self.lines.extend(batch)
            self.batches += 1

    def snapshot(self) -> list[LogLine]:
        with self._lock:
            return list(self.lines)

    def texts(self) -> list[str]:
        return [line.text for line in self.snapshot()]

    def output(self) -> list[str]:
        """The container's own lines, separators left out."""
        return [line.text for line in self.snapshot() if line.stream != "envdeck"]


@contextmanager
def following(
    gateway: DockerGateway,
    project: str,
    service: str,
    options: FollowOptions | None = None,
    ring: LogRing | None = None,
) -> Iterator[Collected]:
    collected = Collected()
    follower = ServiceLogFollower(
        DockerLogSource(gateway), project, service, collected, options=options, ring=ring
    )
    follower.start()
    try:
        yield collected
    finally:
        assert follower.stop(timeout=5), "the follower's threads did not end"


def log_threads() -> list[str]:
    return [
        thread.name for thread in threading.enumerate() if thread.name.startswith("envdeck-logs")
    ]


def is_control(char: str) -> bool:
    return (ord(char) < 0x20 and char != "\t") or 0x7F <= ord(char) <= 0x9F


def test_known_lines_arrive_exactly_in_order_with_docker_timestamps(
    gateway: DockerGateway, project: str, start_service: StartService
) -> None:
    before = now_timestamp()
    container = start_service(
        "known",
        'for i in $(seq 1 100); do echo "line $i"; done; echo "to stderr" >&2; exec sleep infinity',
    )
    ring = LogRing()
    with following(gateway, project, "known", ring=ring) as collected:
        wait_for(lambda: len(collected.output()) == 101, "101 lines")
        lines = collected.snapshot()
    assert log_threads() == []
    stdout = [line for line in lines if line.stream == "stdout"]
    assert [line.text for line in stdout] == [f"line {i}" for i in range(1, 101)]
    assert [line.text for line in lines if line.stream == "stderr"] == ["to stderr"]
    assert all(DOCKER_TIMESTAMP.fullmatch(line.timestamp) for line in lines)
    assert [line.timestamp for line in stdout] == sorted(line.timestamp for line in stdout)
    assert before[:16] <= stdout[0].timestamp <= now_timestamp()  # same clock, give or take
    assert {line.container for line in lines} == {container.short_id}
    assert ring.lines("known") == lines


def test_hostile_bytes_never_reach_the_text(
    gateway: DockerGateway, project: str, start_service: StartService
) -> None:
    hostile = [
        b"\x1b]0;pwned\x07 title",
        b"\x1b]52;c;cGF5bG9hZA==\x07 clipboard",
        b"\x9b31m raw c1",
        "\x9b31m encoded c1".encode(),
        b"del \x7f nul \x00 bell \x07",
        b"bad \xff\xfe utf-8",
        b"\x1b[2J\x1b[H clear screen",
    ]
    start_service(
        "hostile",
        f"#py\nimport sys\nfor p in {hostile!r}: sys.stdout.buffer.write(p + b'\\n')\n"
        "sys.stdout.flush()\nimport time\ntime.sleep(300)",
    )
    with following(gateway, project, "hostile") as collected:
        wait_for(lambda: len(collected.output()) == len(hostile), "the hostile lines")
    assert collected.output() == [
        "␛]0;pwned␇ title",
        "␛]52;c;cGF5bG9hZA==␇ clipboard",
        "\ufffd31m raw c1",
        "\\u009b31m encoded c1",
        "del ␡ nul ␀ bell ␇",
        "bad \ufffd\ufffd utf-8",
        "␛[2J␛[H clear screen",
    ]
    assert not any(is_control(char) for text in collected.texts() for char in text)


def test_a_100_kb_line_is_reassembled_exactly(
    gateway: DockerGateway, project: str, start_service: StartService
) -> None:
    start_service(
        "long",
        "#py\nimport sys, time\n"
        "sys.stdout.write(''.join(chr(97 + i % 26) for i in range(100_000)) + '\\nafter\\n')\n"
        "sys.stdout.flush()\ntime.sleep(300)",
    )
    with following(gateway, project, "long") as collected:
        wait_for(lambda: "after" in collected.output(), "the line after the long one")
    assert collected.output() == ["".join(chr(97 + i % 26) for i in range(100_000)), "after"]


def test_a_flood_is_followed_completely_with_bounded_memory(
    gateway: DockerGateway, project: str, start_service: StartService
) -> None:
    # Large next to the 1,000-line ring and the batching bound; small enough that a loaded
    # CI machine (the follower manages ~5-20k lines/s there) finishes well inside the wait.
    count = 60_000
    start_service(
        "flood",
        f"#py\nimport sys\nw = sys.stdout.write\nfor i in range({count}): w(f'{{i}}\\n')",
    )
    ring = LogRing(max_lines_per_service=1000)
    with following(gateway, project, "flood", ring=ring) as collected:
        wait_for(lambda: len(collected.lines) >= count, f"{count} lines", timeout=120)
        batches = collected.batches
    assert collected.output() == [str(i) for i in range(count)]  # nothing lost, nothing twice
    assert batches < count / 100  # delivered in batches, not line by line
    kept = ring.lines("flood")
    assert len(kept) == 1000
    output = [line.text for line in kept if line.stream == "stdout"]
    assert output == [str(i) for i in range(count - len(output), count)]


def test_a_restart_is_marked_with_the_exit_code_and_nothing_repeats(
    gateway: DockerGateway,
    project: str,
    start_service: StartService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A loaded machine may take seconds to restart; this test is about the restart marker.
    monkeypatch.setattr(reader, "RESTART_GRACE", 15.0)
    container = start_service(
        "restarts",
        "n=$(( $(cat /tmp/runs 2>/dev/null || echo 0) + 1 )); echo $n > /tmp/runs; "
        'echo "run $n"; echo "ready $n"; exec sleep infinity',
    )
    with following(gateway, project, "restarts") as collected:
        wait_for(lambda: "ready 1" in collected.texts(), "the first run")
        container.restart(timeout=0)  # SIGKILL: exit code 137
        wait_for(lambda: "ready 2" in collected.texts(), "the second run")
    assert collected.texts() == [
        "run 1",
        "ready 1",
        "── restarts restarted (exit code 137) ──",
        "run 2",
        "ready 2",
    ]


def test_a_recreated_container_is_followed_into(
    gateway: DockerGateway, project: str, start_service: StartService
) -> None:
    first = start_service("phoenix", "echo 'first life'; exec sleep infinity")
    with following(gateway, project, "phoenix") as collected:
        wait_for(lambda: "first life" in collected.texts(), "the first container")
        first.remove(force=True)
        second = start_service("phoenix", "echo 'second life'; exec sleep infinity")
        wait_for(lambda: "second life" in collected.texts(), "the new container")
    texts = collected.texts()
    assert collected.output() == ["first life", "second life"]
    marker = f"── phoenix recreated: new container {second.short_id} ──"
    assert texts.index(marker) == texts.index("second life") - 1


def test_a_tty_container_gives_plain_lines(
    gateway: DockerGateway, project: str, start_service: StartService
) -> None:
    start_service(
        "tty",
        "echo one; printf 'two\\ttabbed\\n'; python3 -c 'print(\"z\" * 40000)'; echo done; "
        "exec sleep infinity",
        tty=True,
    )
    with following(gateway, project, "tty") as collected:
        wait_for(lambda: "done" in collected.texts(), "the TTY's last line")
    assert collected.output() == ["one", "two\ttabbed", "z" * 40000, "done"]
    assert {line.stream for line in collected.snapshot()} == {"stdout"}


def test_tail_since_and_until_select_history(
    gateway: DockerGateway, project: str, start_service: StartService
) -> None:
    container = start_service(
        "history", "for i in 1 2 3 4 5; do echo $i; done; exec sleep infinity"
    )
    wait_for(lambda: container.logs().count(b"\n") == 5, "five lines logged")
    ring = LogRing()
    with following(gateway, project, "history", FollowOptions(follow=False), ring):
        wait_for(lambda: len(ring) == 5, "the whole history")
    third = ring.lines()[2].timestamp

    def history(options: FollowOptions) -> list[str]:
        collected = Collected()
        follower = ServiceLogFollower(
            DockerLogSource(gateway), project, "history", collected, options=options
        )
        with follower:
            assert follower.wait(timeout=15)
        return collected.texts()

    assert history(FollowOptions(tail=2, follow=False)) == ["4", "5"]
    assert history(FollowOptions(since=third, follow=False)) == ["3", "4", "5"]
    assert history(FollowOptions(until=third, follow=False)) == ["1", "2", "3"]


def test_all_services_merge_in_time_order(
    gateway: DockerGateway, project: str, start_service: StartService
) -> None:
    for service in ("alpha", "beta"):
        start_service(
            service,
            f"for i in 1 2 3; do echo '{service} '$i; sleep 0.2; done; exec sleep infinity",
        )
    collected, ring = Collected(), LogRing()
    merged = MergedLogFollower(
        DockerLogSource(gateway), project, ["alpha", "beta"], collected, ring=ring
    )
    with merged:
        wait_for(lambda: len(ring) == 6, "three lines of each service")
    lines = ring.lines()
    assert [line.timestamp for line in lines] == sorted(line.timestamp for line in lines)
    assert sorted(line.text for line in lines) == [
        *(f"alpha {i}" for i in (1, 2, 3)),
        *(f"beta {i}" for i in (1, 2, 3)),
    ]
    assert log_threads() == []


def test_stopping_a_follower_leaks_neither_threads_nor_sockets(
    gateway: DockerGateway, project: str, start_service: StartService
) -> None:
    start_service("quiet", "echo hello; exec sleep infinity")

    def follow_and_stop() -> None:
        with following(gateway, project, "quiet") as collected:
            wait_for(lambda: "hello" in collected.texts(), "the greeting")

    follow_and_stop()  # the client's connection pool settles
    open_files = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        follow_and_stop()
    assert log_threads() == []
    assert len(os.listdir("/proc/self/fd")) <= open_files + 1
