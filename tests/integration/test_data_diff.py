"""The data diff of one test against real servers: Redis, PostgreSQL and the Qdrant
stand-in, in a compose project of this module's own (unique name, the offline images,
free loopback ports), removed afterwards. The sample stack is not touched.

Each plugin's diff is proven exact for inserts, updates and deletes of every kind it
names, bounded past the limit (a "more" count), and the data is back as it was (by its
fingerprint) after a restore; `diff_one_test` reruns a real pytest test and puts the
data back, or keeps it with keep=True.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis

from envdeck_postgres import PostgresPlugin
from envdeck_qdrant import QdrantPlugin
from envdeck_redis import RedisPlugin
from tests.integration.conftest import REPO, free_port, remove_project
from tui.config.settings import load_settings
from tui.core.engine import DockerGateway
from tui.core.environment import resolve_environment
from tui.core.testrun.data_diff import diff_one_test
from tui.core.testrun.model import Outcome
from tui.plugins.api import DiffGroup, ServiceDiff, ServiceTarget, StateRef
from tui.presentation.diff_text import format_diff_report
from tui.reset.states import StateManager

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_autoloaded_plugins")]

COMPOSE = Path(__file__).resolve().parents[2] / "compose"
BASE_IMAGE = "envdeck-base:bookworm"
QDRANT_IMAGE = "envdeck-qdrant-standin:bookworm"

PROJECT = """\
name: {name}
services:
  cache:
    image: {base}
    command: ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", ""]
    ports: ["127.0.0.1:{redis}:6379"]
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 200ms
      retries: 300
  db:
    image: {base}
    entrypoint: ["bash", "/envdeck/postgres-entrypoint.sh"]
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: app-secret
      POSTGRES_DB: app
    volumes: ["{compose}/postgres:/envdeck:ro"]
    tmpfs: [/var/lib/postgresql/data]  # nothing to sync: database copies take a third
    ports: ["127.0.0.1:{postgres}:5432"]
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U app -d app"]
      interval: 200ms
      retries: 300
  vectors:
    image: {qdrant}
    command: ["python3", "-u", "/app/server.py", "--host", "0.0.0.0", "--port", "6333",
              "--storage", "/qdrant/storage"]
    volumes: ["{compose}/qdrant-standin:/app:ro"]
    ports: ["127.0.0.1:{vectors}:6333"]
    healthcheck:
      test: ["CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:6333/healthz"]
      interval: 200ms
      retries: 300
"""

CONFIG = """\
[tool.envdeck]
compose_files = ["compose.yaml"]

[tool.envdeck.services.cache]
plugin = "redis"

[tool.envdeck.services.db]
plugin = "postgres"

[tool.envdeck.services.vectors]
plugin = "qdrant"
"""


@dataclass(frozen=True)
class Stack:
    folder: Path
    name: str
    redis_port: int
    postgres_port: int
    qdrant_port: int

    @property
    def redis_target(self) -> ServiceTarget:
        return ServiceTarget("cache", BASE_IMAGE, "127.0.0.1", {6379: self.redis_port}, {})

    @property
    def postgres_target(self) -> ServiceTarget:
        env = {"POSTGRES_USER": "app", "POSTGRES_PASSWORD": "app-secret", "POSTGRES_DB": "app"}
        return ServiceTarget(
            "db", BASE_IMAGE, "127.0.0.1", {5432: self.postgres_port}, env, timeout=10.0
        )

    @property
    def qdrant_target(self) -> ServiceTarget:
        return ServiceTarget(
            "vectors", QDRANT_IMAGE, "127.0.0.1", {6333: self.qdrant_port}, {}, timeout=10.0
        )

    def redis(self, db: int = 0) -> redis.Redis:
        return redis.Redis(port=self.redis_port, db=db)

    def sql(self, dbname: str = "app") -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.postgres_port,
            user="app",
            password="app-secret",
            dbname=dbname,
            autocommit=True,
        )

    def qdrant(self) -> httpx.Client:
        return httpx.Client(base_url=f"http://127.0.0.1:{self.qdrant_port}", trust_env=False)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, gateway: DockerGateway) -> Iterator[Stack]:
    for image in (BASE_IMAGE, QDRANT_IMAGE):
        if not gateway.image_exists(image):
            pytest.fail(f"{image} is not built: `make test` builds the offline images")
    name = f"envdeck-diff-{uuid.uuid4().hex[:8]}"
    folder = tmp_path_factory.mktemp("diff") / "app"
    folder.mkdir()
    found = Stack(folder, name, free_port(), free_port(), free_port())
    (folder / "compose.yaml").write_text(
        PROJECT.format(
            name=name,
            base=BASE_IMAGE,
            qdrant=QDRANT_IMAGE,
            compose=COMPOSE,
            redis=found.redis_port,
            postgres=found.postgres_port,
            vectors=found.qdrant_port,
        )
    )
    (folder / "pyproject.toml").write_text(CONFIG)
    try:
        subprocess.run(
            ["docker", "compose", "up", "-d", "--wait"],
            cwd=folder,
            check=True,
            capture_output=True,
            timeout=180,
        )
        yield found
    finally:
        remove_project(gateway, name)


def diffed(
    plugin: Any, target: ServiceTarget, folder: Path, change: Callable[[], object], limit: int = 20
) -> ServiceDiff:
    """Save, watch, `change`, diff; then restore, proven by the fingerprint."""
    folder.mkdir()
    ref = StateRef("difftest", folder)
    saved = plugin.save_state(target, ref)
    watch = plugin.begin_diff(target, ref)
    try:
        change()
        diff: ServiceDiff = watch.finish(limit)
    finally:
        watch.close()
    plugin.restore_state(target, ref)
    assert plugin.fingerprint(target) == saved.fingerprint
    plugin.delete_state(target, ref)
    return diff


def group(diff: ServiceDiff, title: str) -> DiffGroup:
    found = [g for g in diff.groups if g.title == title]
    assert found, f"no group {title!r} in {[g.title for g in diff.groups]}"
    return found[0]


def labels(diff: ServiceDiff, title: str) -> set[str]:
    return {item.label for item in group(diff, title).items}


def titles(diff: ServiceDiff) -> set[str]:
    return {g.title for g in diff.groups}


# ---------------------------------------------------------------- Redis


def test_redis_diff_is_exact_for_every_type(stack: Stack, tmp_path: Path) -> None:
    r = stack.redis()
    r.flushall()
    r.config_set("notify-keyspace-events", "Ex")  # someone else's setting: kept
    for prefix in ("", "del_"):
        r.set(f"{prefix}s", "one")
        r.hset(f"{prefix}h", mapping={"a": "1", "b": "2"})
        r.rpush(f"{prefix}l", "x", "y")
        r.sadd(f"{prefix}st", "m1", "m2")
        r.zadd(f"{prefix}z", {"p": 1.0, "q": 2.0})
    r.set("ttl", "v", ex=1000)
    r.set("same", "unchanged")
    r.mset({f"filler:{i}": i for i in range(2000)})

    def change() -> None:
        r.set("n_s", "new\x1b[2Jvalue")
        r.hset("n_h", "f", "v")
        r.rpush("n_l", "1")
        r.sadd("n_st", "m")
        r.zadd("n_z", {"m": 3.0})
        r.set("s", "two")
        r.hset("h", "a", "changed")
        r.rpush("l", "z")
        r.srem("st", "m1")
        r.zincrby("z", 5.0, "p")
        r.delete("del_s", "del_h", "del_l", "del_st", "del_z")
        r.expire("ttl", 5000)
        r.set("same", "unchanged")  # written, but as it was
        stack.redis(db=2).set("elsewhere", "x")

    diff = diffed(RedisPlugin(), stack.redis_target, tmp_path / "state", change)
    assert labels(diff, "keys added") == {"n_s", "n_h", "n_l", "n_st", "n_z", "db 2: elsewhere"}
    assert labels(diff, "keys removed") == {"del_s", "del_h", "del_l", "del_st", "del_z"}
    assert labels(diff, "keys changed") == {"s", "h", "l", "st", "z", "ttl"}
    assert diff.notes == ()
    changed = {item.label: item for item in group(diff, "keys changed").items}
    assert dict(changed["h"].before)["value"] == "a=1, b=2 (2 fields)"
    assert dict(changed["h"].after)["value"] == "a=changed, b=2 (2 fields)"
    assert dict(changed["s"].before)["value"] == "one"
    assert dict(changed["ttl"].after)["ttl"].startswith("1h 2")  # 5000 s left
    added = {item.label: item for item in group(diff, "keys added").items}
    assert "\x1b" not in dict(added["n_s"].after)["value"]
    removed = {item.label: item for item in group(diff, "keys removed").items}
    assert dict(removed["del_z"].before)["value"] == "p:1.0, q:2.0 (2 members)"
    # The notification setting is the one there was; the data is back (diffed()).
    assert r.config_get("notify-keyspace-events")["notify-keyspace-events"] in ("xE", "Ex")
    assert r.get("s") == b"one"
    assert r.exists("n_s") == 0


def test_redis_diff_says_how_many_more(stack: Stack, tmp_path: Path) -> None:
    r = stack.redis()
    r.flushall()
    diff = diffed(
        RedisPlugin(),
        stack.redis_target,
        tmp_path / "state",
        lambda: r.mset({f"k{i}": i for i in range(30)}),
        limit=4,
    )
    added = group(diff, "keys added")
    assert (added.count, len(added.items), added.more) == (30, 4, 26)


def test_redis_diff_sees_a_flush(stack: Stack, tmp_path: Path) -> None:
    r = stack.redis()
    r.flushall()
    r.mset({"a": 1, "b": 2})
    diff = diffed(RedisPlugin(), stack.redis_target, tmp_path / "state", r.flushdb)
    assert labels(diff, "keys removed") == {"a", "b"}
    assert any("flushed" in note for note in diff.notes)


# ---------------------------------------------------------------- PostgreSQL


def _postgres_tables(stack: Stack) -> None:
    with stack.sql() as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
        conn.execute("DROP SCHEMA IF EXISTS extra CASCADE")
        conn.execute("CREATE TABLE users (id serial PRIMARY KEY, name text, n int)")
        conn.execute(
            "INSERT INTO users (name, n) SELECT 'u' || g, g FROM generate_series(1, 20000) g"
        )
        conn.execute("CREATE TABLE log (msg text, at int)")  # no primary key
        conn.execute("INSERT INTO log SELECT 'm' || g, g FROM generate_series(1, 500) g")
        conn.execute("CREATE TABLE doomed (x int)")
        conn.execute("CREATE TABLE emptied (x int)")
        conn.execute("INSERT INTO emptied VALUES (1), (2), (3)")
        conn.execute("CREATE TABLE untouched (x int)")
        conn.execute("INSERT INTO untouched VALUES (1)")
        conn.execute("CREATE SEQUENCE counter")


def test_postgres_diff_is_exact_for_rows_tables_schemas_sequences(
    stack: Stack, tmp_path: Path
) -> None:
    _postgres_tables(stack)

    def change() -> None:
        with stack.sql() as conn:
            conn.execute("INSERT INTO users (name, n) VALUES ('new\x1b[31m', 0)")
            conn.execute("UPDATE users SET n = -1 WHERE id IN (5, 15000)")
            conn.execute("UPDATE users SET n = n WHERE id = 8")  # written, as it was
            conn.execute("DELETE FROM users WHERE id IN (7, 19999)")
            conn.execute("INSERT INTO log VALUES ('x', 1)")
            conn.execute("UPDATE log SET msg = 'changed' WHERE at = 10")
            conn.execute("DELETE FROM log WHERE at = 3")
            conn.execute("TRUNCATE emptied")
            conn.execute("CREATE SCHEMA extra")
            conn.execute("CREATE TABLE extra.made (x int)")
            conn.execute("DROP TABLE doomed")
            conn.execute("SELECT nextval('counter'), nextval('counter')")

    diff = diffed(PostgresPlugin(), stack.postgres_target, tmp_path / "state", change)
    assert labels(diff, "rows inserted into public.users") == {"id=20001"}
    assert labels(diff, "rows updated in public.users") == {"id=5", "id=15000"}
    assert labels(diff, "rows deleted from public.users") == {"id=7", "id=19999"}
    updated = {item.label: item for item in group(diff, "rows updated in public.users").items}
    assert updated["id=5"].before == (("n", "5"),)
    assert updated["id=5"].after == (("n", "-1"),)
    # Without a primary key an update is a deletion and an insertion of whole rows.
    inserted = {item.after for item in group(diff, "rows inserted into public.log").items}
    deleted = {item.before for item in group(diff, "rows deleted from public.log").items}
    assert inserted == {(("msg", "x"), ("at", "1")), (("msg", "changed"), ("at", "10"))}
    assert deleted == {(("msg", "m3"), ("at", "3")), (("msg", "m10"), ("at", "10"))}
    assert group(diff, "rows deleted from public.emptied").count == 3
    assert labels(diff, "schemas created") == {"extra"}
    assert labels(diff, "tables created") == {"extra.made"}
    assert labels(diff, "tables dropped") == {"public.doomed"}
    moved = {item.label: item for item in group(diff, "sequences moved").items}
    assert set(moved) == {"public.users_id_seq", "public.counter"}
    assert moved["public.counter"].after == (("last value", "2"),)
    assert not any("untouched" in title for title in titles(diff))
    assert any("public.emptied" in note and "in full" in note for note in diff.notes)
    new_name = dict(group(diff, "rows inserted into public.users").items[0].after)["name"]
    assert "\x1b" not in new_name
    with stack.sql() as conn:  # back as before (diffed() checked the fingerprint too)
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (20000,)


def test_postgres_diff_says_how_many_more(stack: Stack, tmp_path: Path) -> None:
    with stack.sql() as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")

    def change() -> None:
        with stack.sql() as conn:
            conn.execute("INSERT INTO t SELECT generate_series(1, 50)")

    diff = diffed(PostgresPlugin(), stack.postgres_target, tmp_path / "state", change, limit=5)
    rows = group(diff, "rows inserted into public.t")
    assert (rows.count, len(rows.items), rows.more) == (50, 5, 45)


# ---------------------------------------------------------------- Qdrant


def test_qdrant_diff_is_exact_for_collections_and_points(stack: Stack, tmp_path: Path) -> None:
    with stack.qdrant() as q:
        for name in [c["name"] for c in q.get("/collections").json()["result"]["collections"]]:
            q.delete(f"/collections/{name}")
        for name in ("docs", "old"):
            q.put(f"/collections/{name}", json={"vectors": {"size": 3, "distance": "Dot"}})
        points = [
            {"id": i, "vector": [float(i), 1.0, 0.5], "payload": {"n": i}} for i in range(1, 8)
        ]
        q.put("/collections/docs/points?wait=true", json={"points": points})

        def change() -> None:
            upsert = "/collections/docs/points?wait=true"
            q.put(upsert, json={"points": [{"id": 9, "vector": [9.0, 1, 1], "payload": {}}]})
            q.post("/collections/docs/points/delete?wait=true", json={"points": [2]})
            q.post(
                "/collections/docs/points/payload?wait=true",
                json={"points": [3], "payload": {"t": "x"}},
            )
            q.put(
                upsert, json={"points": [{"id": 4, "vector": [0.0, 0.0, 1.0], "payload": {"n": 4}}]}
            )
            q.put(upsert, json={"points": [points[4]]})  # point 5 written as it was
            q.delete("/collections/old")
            q.put("/collections/fresh", json={"vectors": {"size": 2, "distance": "Dot"}})

        diff = diffed(QdrantPlugin(), stack.qdrant_target, tmp_path / "state", change)
    assert labels(diff, "collections created") == {"fresh"}
    assert labels(diff, "collections deleted") == {"old"}
    assert labels(diff, "points added to docs") == {"point 9"}
    assert labels(diff, "points removed from docs") == {"point 2"}
    changed = {item.label: item for item in group(diff, "points changed in docs").items}
    assert set(changed) == {"point 3", "point 4"}
    assert [name for name, _ in changed["point 3"].after] == ["payload"]
    assert [name for name, _ in changed["point 4"].after] == ["vector"]


# ---------------------------------------------------------------- one test, rerun


TEST_FILE = """\
import os, httpx, psycopg, redis

def test_writes_everywhere():
    redis.Redis(port=int(os.environ["DIFF_REDIS"])).set("made:by:test", "\\x1b]0;owned\\x07")
    with psycopg.connect(host="127.0.0.1", port=int(os.environ["DIFF_PG"]), user="app",
                         password="app-secret", dbname="app", autocommit=True) as conn:
        conn.execute("INSERT INTO items VALUES (42, 'answer')")
    httpx.put(f"http://127.0.0.1:{os.environ['DIFF_QDRANT']}/collections/kept/points?wait=true",
              json={"points": [{"id": 1, "vector": [1.0, 0.0], "payload": {"by": "test"}}]})
    assert False, "fails after writing"
"""


def _prepare(stack: Stack) -> None:
    stack.redis().flushall()
    stack.redis().config_set("notify-keyspace-events", "")
    with stack.sql() as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text)")
    with stack.qdrant() as q:
        for name in [c["name"] for c in q.get("/collections").json()["result"]["collections"]]:
            q.delete(f"/collections/{name}")
        q.put("/collections/kept", json={"vectors": {"size": 2, "distance": "Dot"}})
    tests = stack.folder / "tests"
    tests.mkdir(exist_ok=True)
    (tests / "test_writes.py").write_text(TEST_FILE)


def _run_diff(stack: Stack, gateway: DockerGateway, *, keep: bool) -> Any:
    settings = load_settings(stack.folder)
    states = StateManager(settings, resolve_environment(settings, gateway), gateway)
    env = {
        "DIFF_REDIS": str(stack.redis_port),
        "DIFF_PG": str(stack.postgres_port),
        "DIFF_QDRANT": str(stack.qdrant_port),
    }
    import asyncio

    return asyncio.run(
        diff_one_test(
            states,
            stack.folder,
            "tests/test_writes.py::test_writes_everywhere",
            python=sys.executable,
            env=env,
            keep=keep,
        )
    )


def test_diff_one_test_reruns_it_and_puts_the_data_back(
    stack: Stack, gateway: DockerGateway
) -> None:
    _prepare(stack)
    report = _run_diff(stack, gateway, keep=False)
    assert report.outcome is Outcome.FAILED
    assert report.restored
    assert not report.kept
    by_service = {answer.service: answer.diff for answer in report.services}
    assert labels(by_service["cache"], "keys added") == {"made:by:test"}
    assert labels(by_service["db"], "rows inserted into public.items") == {"id=42"}
    assert labels(by_service["vectors"], "points added to kept") == {"point 1"}
    assert stack.redis().exists("made:by:test") == 0
    with stack.sql() as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (0,)
    text = format_diff_report(report)
    assert "made:by:test" in text
    assert "id=42" in text
    assert "put back" in text
    assert "\x1b" not in text
    assert "\x07" not in text
    # The hidden state is gone: nothing in `snapshot list`, no copy left in PostgreSQL.
    assert (
        StateManager(
            load_settings(stack.folder),
            resolve_environment(load_settings(stack.folder), gateway),
            gateway,
        ).snapshots()
        == []
    )
    with stack.sql("postgres") as conn:
        left = conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'envdeck_s_%'")
        assert left.fetchone() == (0,)


def test_diff_one_test_keeps_the_data_when_asked(stack: Stack, gateway: DockerGateway) -> None:
    _prepare(stack)
    report = _run_diff(stack, gateway, keep=True)
    assert report.kept
    assert not report.restored
    assert stack.redis().get("made:by:test") == b"\x1b]0;owned\x07"
    with stack.sql() as conn:
        assert conn.execute("SELECT name FROM items").fetchall() == [("answer",)]
    # The notification setting is back to what it was before the diff.
    assert stack.redis().config_get("notify-keyspace-events")["notify-keyspace-events"] == ""
    assert "kept as the test left it" in format_diff_report(report)


def envdeck_test(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """`envdeck test ARGS` in the stack's project, its test told where the servers are."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DIFF_REDIS": str(stack.redis_port),
        "DIFF_PG": str(stack.postgres_port),
        "DIFF_QDRANT": str(stack.qdrant_port),
    }
    return subprocess.run(
        [sys.executable, "-m", "tui", "test", *args],
        cwd=stack.folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_envdeck_test_diff_prints_what_the_test_changed_and_puts_it_back(stack: Stack) -> None:
    _prepare(stack)
    nodeid = "tests/test_writes.py::test_writes_everywhere"
    bundles = stack.folder / "bundles"
    ran = envdeck_test(stack, "--diff", nodeid, "--bundle", str(bundles), "tests")
    assert ran.returncode == 1, ran.stderr  # pytest's for the failing test; the data is back
    assert "AssertionError: fails after writing" in ran.stdout  # why it failed, first
    assert "made:by:test" in ran.stdout
    assert "id=42" in ran.stdout
    assert "put back" in ran.stdout
    assert "\x1b" not in ran.stdout
    assert stack.redis().exists("made:by:test") == 0
    with stack.sql() as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (0,)
    (bundle,) = [path for path in bundles.iterdir() if path.is_dir()]
    assert "id=42" in (bundle / "data-diff.txt").read_text()  # --bundle holds the diff

    whole_file = envdeck_test(stack, "--diff", "tests/test_writes.py")
    assert whole_file.returncode == 1
    assert "a data diff reruns one test" in whole_file.stderr


async def test_d_in_the_tests_screen_shows_the_diff_and_puts_the_data_back(
    stack: Stack, gateway: DockerGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.ui.test_tests_screen import goto, open_tests, text_of, until
    from tui.ui.app import make_app

    _prepare(stack)
    monkeypatch.setenv("DIFF_REDIS", str(stack.redis_port))
    monkeypatch.setenv("DIFF_PG", str(stack.postgres_port))
    monkeypatch.setenv("DIFF_QDRANT", str(stack.qdrant_port))
    app = make_app(load_settings(stack.folder), gateway)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_tests(pilot)
        await goto(pilot, screen, "tests/test_writes.py::test_writes_everywhere")
        await pilot.press("d")
        failure_pane = partial(text_of, screen, "#tests-failure")
        await until(pilot, lambda: "made:by:test" in failure_pane(), 120, failure_pane)
        shown = text_of(screen, "#tests-failure")
        assert "id=42" in shown
        assert "put back" in shown
    assert stack.redis().exists("made:by:test") == 0


def test_a_diff_is_refused_while_a_reset_holds_the_data(
    stack: Stack, gateway: DockerGateway
) -> None:
    import asyncio

    from tui.core.testrun.data_diff import DataDiffError

    settings = load_settings(stack.folder)
    states = StateManager(settings, resolve_environment(settings, gateway), gateway)
    refused = pytest.raises(DataDiffError, match="a reset or snapshot is under way")
    with states.operation_lock, refused:  # as a save, restore or delete holds it
        asyncio.run(diff_one_test(states, stack.folder, "tests/test_writes.py::x"))
    assert states.operation_lock.acquire(blocking=False)  # the refusal let go of nothing
    states.operation_lock.release()
