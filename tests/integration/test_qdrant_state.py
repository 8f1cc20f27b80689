"""The Qdrant plugin's saved states (save, restore, fingerprint) against a real server.

Restores replace every collection, so these tests never touch the shared sample stack:
each module or test runs a throwaway Qdrant stand-in container of its own (the server the
offline sample runs, from the same image and files; see compose.offline.yaml), and reads
what is on it independently, with the official qdrant-client.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from docker.models.containers import Container
from qdrant_client import QdrantClient, models

from envdeck_qdrant import QdrantPlugin, state_fingerprint
from envdeck_qdrant.state_file import STATE_FILE
from tests.integration.conftest import published_port, run_on_loopback
from tui.core.engine import DockerGateway
from tui.plugins.api import InspectorError, Problem, ServiceTarget, StatefulPlugin, StateRef

REPO = Path(__file__).resolve().parents[2]
IMAGE = "envdeck-qdrant-standin:bookworm"  # the base image plus Qdrant's engine
STANDIN = REPO / "compose" / "qdrant-standin"
SEED = REPO / "compose" / "seed" / "qdrant_seed.py"
PLUGIN = QdrantPlugin()

HOSTILE = '\x1b]0;x\x07 [bold]not markup[/bold] \x9b31m ünïcødé 🚀 \x00 \u2028\u2029 \\ "'
LINE_BREAKER = '"}}\n{"end": {"points": 0}}\n'  # what a naive JSON-lines writer would split
NAMED = "multi ünï 🚀 %20&x"  # a collection name that needs escaping in a URL


# ---------------------------------------------------------------- throwaway servers


@contextmanager
def throwaway_qdrant(request: pytest.FixtureRequest) -> Iterator[tuple[ServiceTarget, Container]]:
    """A Qdrant stand-in container of our own, published on loopback, removed afterwards."""
    gateway: DockerGateway = request.getfixturevalue("gateway")
    if not gateway.client.images.list(name=IMAGE):
        request.getfixturevalue("sample_env")  # bringing it up offline builds the image
    tag = uuid.uuid4().hex[:8]
    command = ["python3", "-u", "/app/server.py", "--host", "0.0.0.0", "--port", "6333"]  # noqa: S104
    container = run_on_loopback(
        gateway,
        IMAGE,
        6333,
        f"envdeck-test-qdrant-{tag}",
        command=[*command, "--storage", "/qdrant/storage"],
        volumes={str(STANDIN): {"bind": "/app", "mode": "ro"}},
        tmpfs={"/qdrant/storage": ""},  # nothing to sync: its writes are quicker
        name=f"envdeck-test-qdrant-{tag}",
    )
    try:
        port = eventually(lambda: published_port(container, 6333), "the port to be published")
        eventually(lambda: _healthy(port), f"Qdrant in {container.name} to answer", timeout=20)
        yield target_at(port), container
    finally:
        container.remove(force=True)


def eventually(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """`check()`'s first value that is neither None nor False, polled until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None and value is not False:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.05)


def _status(container: Container) -> str:
    container.reload()
    return str(container.status)


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def target_at(port: int, timeout: float = 5.0) -> ServiceTarget:
    return ServiceTarget(
        "qdrant", "qdrant/qdrant:v1.12.5", "127.0.0.1", {6333: port}, {}, {}, timeout
    )


def client_for(target: ServiceTarget) -> QdrantClient:
    url = f"http://127.0.0.1:{target.ports[6333]}"
    return QdrantClient(url=url, prefer_grpc=False, check_compatibility=False, timeout=60)


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[ServiceTarget]:
    """One throwaway server for the module; every test starts by emptying it."""
    with throwaway_qdrant(request) as (target, _container):
        yield target


@pytest.fixture
def qdrant(server: ServiceTarget) -> Iterator[QdrantClient]:
    client = client_for(server)
    wipe(client)
    yield client
    client.close()


@pytest.fixture
def folder(tmp_path: Path) -> Callable[[str], StateRef]:
    """A new empty state folder, as envdeck's state store hands one to a plugin."""

    def make(name: str) -> StateRef:
        path = tmp_path / name / "qdrant"
        path.mkdir(parents=True)
        return StateRef(name, path)

    return make


# ---------------------------------------------------------------- data


def wipe(client: QdrantClient) -> None:
    aliases = client.get_aliases().aliases
    if aliases:
        client.update_collection_aliases(
            change_aliases_operations=[
                models.DeleteAliasOperation(
                    delete_alias=models.DeleteAlias(alias_name=a.alias_name)
                )
                for a in aliases
            ]
        )
    for collection in client.get_collections().collections:
        client.delete_collection(collection.name)


def uid(n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"envdeck-test/{n}"))


def article_payload(i: int) -> dict[str, Any]:
    return {
        "title": f"Article {i} — ünïcødé 🚀",
        "lang": "de" if i % 3 else "en",
        "hostile": HOSTILE,
        "breaker": LINE_BREAKER,
        "nested": {"a": {"b": [1, 2.5, None, True, {"c": "d"}]}, "empty": {}, "list": []},
        "odd keys": {"a.b": 1, "[0]": 2, "": 3, "new\nline": 4, "🔑": 5},
        "numbers": [0, -1, 2**63, 1.5e-300, -0.0, 1e300],
        "n": i,
    }


def add_alias(client: QdrantClient, collection: str, alias: str) -> None:
    client.update_collection_aliases(
        change_aliases_operations=[
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)
            )
        ]
    )


def populate(client: QdrantClient, reverse: bool = False) -> None:
    """Three collections (unnamed Cosine with integer ids and a payload index, named
    vectors with UUID ids, an empty one) and an alias. `reverse` builds the very same data
    in the opposite order: collections, points, payload keys and aliases."""

    def order(items: list[Any]) -> list[Any]:
        return items[::-1] if reverse else items

    def payload(values: dict[str, Any]) -> dict[str, Any]:
        return dict(order(list(values.items())))

    def articles() -> None:
        client.create_collection(
            "articles",
            vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE),
            hnsw_config=models.HnswConfigDiff(m=8),
        )
        client.create_payload_index("articles", "lang", models.PayloadSchemaType.KEYWORD)
        points = [
            models.PointStruct(
                id=i,
                vector=[math.sin(i), math.cos(i), i / 40, 1.0 if i % 2 else -1.0],
                payload=payload(article_payload(i)),
            )
            for i in range(1, 41)
        ]
        for start in order([0, 20]):
            client.upsert("articles", points=order(points[start : start + 20]))

    def named() -> None:
        client.create_collection(
            NAMED,
            vectors_config={
                "text": models.VectorParams(size=3, distance=models.Distance.DOT),
                "image": models.VectorParams(size=2, distance=models.Distance.EUCLID),
            },
        )
        points = [
            models.PointStruct(
                id=uid(i),
                vector=(
                    {"text": [i * 0.1, -i * 0.2, 0.3], "image": [float(i), 0.5]}
                    if i % 4
                    else {"text": [1.0, 2.0, 3.0]}  # a point with one of the two vectors
                ),
                payload=payload({"i": i, "tags": ["x", "y"][: i % 3], "deep": {"k": {"v": i}}}),
            )
            for i in range(1, 13)
        ]
        client.upsert(NAMED, points=order(points))

    def empty() -> None:
        client.create_collection(
            "empty", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
        )

    for build in order([articles, named, empty]):
        build()
    for collection, alias in order([("articles", "articles_live"), (NAMED, "named_live")]):
        add_alias(client, collection, alias)


def dump(client: QdrantClient) -> dict[str, Any]:
    """Everything the server holds, read independently of the plugin: every collection's
    whole config, payload schema and points (ids, vectors, payloads), and the aliases."""
    collections: dict[str, Any] = {}
    for name in sorted(c.name for c in client.get_collections().collections):
        info = client.get_collection(name)
        points: list[tuple[Any, Any, Any]] = []
        offset: Any = None
        while True:
            records, offset = client.scroll(
                name, limit=700, offset=offset, with_payload=True, with_vectors=True
            )
            points += [(r.id, r.vector, r.payload) for r in records]
            if offset is None:
                break
        collections[name] = {
            "config": info.config.model_dump(),
            "schema": {k: v.data_type for k, v in (info.payload_schema or {}).items()},
            "count": info.points_count,
            "points": points,
        }
    aliases = sorted((a.alias_name, a.collection_name) for a in client.get_aliases().aliases)
    return {"collections": collections, "aliases": aliases}


def state_file(ref: StateRef) -> Path:
    return ref.folder / STATE_FILE


# ---------------------------------------------------------------- save and restore


def test_the_plugin_is_a_stateful_plugin() -> None:
    assert isinstance(PLUGIN, StatefulPlugin)


def test_restore_undoes_every_kind_of_change(
    server: ServiceTarget, qdrant: QdrantClient, folder: Callable[[str], StateRef]
) -> None:
    populate(qdrant)
    before = dump(qdrant)
    ref = folder("baseline")

    saved = PLUGIN.save_state(server, ref)

    assert saved.summary == "3 collections, 52 points, 2 aliases"
    assert saved.size_bytes == state_file(ref).stat().st_size > 0
    assert saved.location == f"1 file in {ref.folder}"
    assert [p.name for p in ref.folder.iterdir()] == [STATE_FILE]  # no leftovers
    assert PLUGIN.state_exists(server, ref)
    assert PLUGIN.fingerprint(server) == saved.fingerprint
    assert dump(qdrant) == before  # saving changed nothing

    # Dirty it every way a test might.
    qdrant.create_collection(
        "added", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
    )
    qdrant.upsert("added", points=[models.PointStruct(id=1, vector=[1.0, 2.0])])
    qdrant.delete_collection("empty")
    add_alias(qdrant, "added", "empty")  # an alias named like a saved collection
    qdrant.upsert(
        "articles",
        points=[
            models.PointStruct(id=1000, vector=[1.0, 0.0, 0.0, 0.0], payload={"new": True}),
            models.PointStruct(id=5, vector=[0.0, 1.0, 0.0, 0.0], payload=article_payload(5)),
        ],
    )
    qdrant.delete("articles", points_selector=models.PointIdsList(points=[3, 4]))
    qdrant.set_payload("articles", payload={"lang": "fr", "extra": [1]}, points=[6])
    qdrant.overwrite_payload("articles", payload={"only": "this"}, points=[7])
    qdrant.delete_payload("articles", keys=["nested.a", "hostile"], points=[8])
    qdrant.clear_payload("articles", points_selector=models.PointIdsList(points=[9]))
    qdrant.delete_payload_index("articles", "lang")
    qdrant.create_payload_index("articles", "n", models.PayloadSchemaType.INTEGER)
    qdrant.upsert(NAMED, points=[models.PointStruct(id=uid(1), vector={"text": [9.0, 9.0, 9.0]})])
    qdrant.update_collection_aliases(
        change_aliases_operations=[
            models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name="named_live")),
        ]
    )
    add_alias(qdrant, "articles", "extra_alias")
    assert dump(qdrant) != before
    assert PLUGIN.fingerprint(server) != saved.fingerprint

    message = PLUGIN.restore_state(server, ref)

    assert message == "restored 3 collections, 52 points, 2 aliases"
    assert dump(qdrant) == before
    assert PLUGIN.fingerprint(server) == saved.fingerprint
    # Restored data works as data: search through the restored alias finds point 2 first.
    hits = qdrant.query_points("articles_live", query=[math.sin(2), math.cos(2), 0.05, -1.0])
    assert hits.points[0].id == 2
    # As Qdrant stored it when saved (its JSON floats may sit one ULP off: 1.5e-300).
    stored = {pid: payload for pid, _, payload in before["collections"]["articles"]["points"]}
    assert hits.points[0].payload == stored[2]
    assert stored[2]["title"] == article_payload(2)["title"]


def test_a_collection_recreated_with_another_config_gets_its_own_back(
    server: ServiceTarget, qdrant: QdrantClient, folder: Callable[[str], StateRef]
) -> None:
    populate(qdrant)
    before = dump(qdrant)
    ref = folder("config")
    saved = PLUGIN.save_state(server, ref)
    qdrant.delete_collection(NAMED)
    qdrant.create_collection(
        NAMED,
        vectors_config={"text": models.VectorParams(size=5, distance=models.Distance.COSINE)},
        hnsw_config=models.HnswConfigDiff(m=32),
    )
    qdrant.upsert(NAMED, points=[models.PointStruct(id=uid(1), vector={"text": [1.0] * 5})])
    assert PLUGIN.fingerprint(server) != saved.fingerprint

    PLUGIN.restore_state(server, ref)

    assert dump(qdrant) == before
    assert PLUGIN.fingerprint(server) == saved.fingerprint


def test_an_empty_server_saves_and_restores_as_empty(
    server: ServiceTarget, qdrant: QdrantClient, folder: Callable[[str], StateRef]
) -> None:
    ref = folder("nothing")
    saved = PLUGIN.save_state(server, ref)
    assert saved.summary == "0 collections, 0 points"
    populate(qdrant)
    assert PLUGIN.restore_state(server, ref) == "restored 0 collections, 0 points"
    assert dump(qdrant) == {"collections": {}, "aliases": []}
    assert PLUGIN.fingerprint(server) == saved.fingerprint


def test_the_sample_seed_resets_in_well_under_a_second(
    server: ServiceTarget, qdrant: QdrantClient, folder: Callable[[str], StateRef]
) -> None:
    # The sample environment's own seed hook, run as envdeck runs it.
    env = {**os.environ, "ENVDECK_QDRANT_PORT_6333": str(server.ports[6333])}
    subprocess.run([sys.executable, str(SEED)], env=env, check=True, capture_output=True)
    before = dump(qdrant)
    ref = folder("baseline")
    started = time.perf_counter()
    saved = PLUGIN.save_state(server, ref)
    save_s = time.perf_counter() - started
    qdrant.upsert("seed_articles", points=[models.PointStruct(id=9, vector=[1.0, 0, 0, 0])])
    qdrant.create_collection(
        f"test_{uuid.uuid4().hex}",
        vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE),
    )

    started = time.perf_counter()
    PLUGIN.restore_state(server, ref)
    checked = PLUGIN.fingerprint(server) == saved.fingerprint  # what a fast reset does
    reset_s = time.perf_counter() - started

    assert checked
    assert dump(qdrant) == before
    # Printed for the record, never asserted: bench/reset.py measures resets.
    print(f"\nsample seed: save {save_s:.3f} s, restore + fingerprint check {reset_s:.3f} s")


# ---------------------------------------------------------------- fingerprints


def test_equal_data_has_an_equal_fingerprint_whatever_order_it_was_written_in(
    server: ServiceTarget, qdrant: QdrantClient
) -> None:
    populate(qdrant)
    forward = PLUGIN.fingerprint(server)
    assert PLUGIN.fingerprint(server) == forward  # deterministic
    wipe(qdrant)
    populate(qdrant, reverse=True)
    assert PLUGIN.fingerprint(server) == forward


def _nudge_vector(client: QdrantClient) -> None:
    (point,) = client.retrieve(NAMED, ids=[uid(2)], with_vectors=True)
    assert isinstance(point.vector, dict)
    text = [float(x) for x in point.vector["text"]]  # type: ignore[arg-type]
    text[0] = math.nextafter(text[0], math.inf)  # the smallest change a float can take
    client.upsert(
        NAMED, points=[models.PointStruct(id=uid(2), vector={**point.vector, "text": text})]
    )


def _swap_id(client: QdrantClient) -> None:
    (point,) = client.retrieve("articles", ids=[10], with_vectors=True)
    client.delete("articles", points_selector=models.PointIdsList(points=[10]))
    client.upsert(
        "articles", [models.PointStruct(id=10_000, vector=point.vector, payload=point.payload)]
    )


def _rename_collection(client: QdrantClient) -> None:
    client.delete_collection("empty")
    client.create_collection(
        "empty2", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
    )


def _change_distance(client: QdrantClient) -> None:
    client.delete_collection("empty")
    client.create_collection(
        "empty", vectors_config=models.VectorParams(size=2, distance=models.Distance.EUCLID)
    )


CHANGES: dict[str, Callable[[QdrantClient], Any]] = {
    "a vector nudged by one ulp": _nudge_vector,
    "a payload number": lambda c: c.set_payload("articles", {"n": 999}, points=[11]),
    "1 becomes 1.0": lambda c: c.set_payload("articles", {"n": 12.0}, points=[12]),
    "a payload key added": lambda c: c.set_payload("articles", {"k": False}, points=[13]),
    "a nested value": lambda c: c.set_payload(NAMED, {"v": -1}, points=[uid(3)], key="deep.k"),
    "one character of a string": lambda c: c.set_payload(
        "articles", {"title": article_payload(14)["title"].replace("ü", "u")}, points=[14]
    ),
    "a point deleted": lambda c: c.delete("articles", models.PointIdsList(points=[15])),
    "a point added": lambda c: c.upsert("empty", [models.PointStruct(id=1, vector=[0.0, 0.0])]),
    "a point's id": _swap_id,
    "an alias added": lambda c: add_alias(c, "empty", "new_alias"),
    "an alias pointed elsewhere": lambda c: add_alias(c, "empty", "articles_live"),
    "a payload index added": lambda c: c.create_payload_index(
        NAMED, "i", models.PayloadSchemaType.INTEGER
    ),
    "an empty collection added": lambda c: c.create_collection(
        "another", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
    ),
    "a collection renamed": _rename_collection,
    "a collection's distance": _change_distance,
}


def test_any_change_changes_the_fingerprint_and_a_restore_brings_it_back(
    server: ServiceTarget, qdrant: QdrantClient, folder: Callable[[str], StateRef]
) -> None:
    populate(qdrant)
    ref = folder("each")
    base = PLUGIN.save_state(server, ref).fingerprint
    seen = {base}
    for what, change in CHANGES.items():
        change(qdrant)
        changed = PLUGIN.fingerprint(server)
        assert changed != base, f"{what}: the fingerprint did not change"
        seen.add(changed)
        PLUGIN.restore_state(server, ref)
        assert PLUGIN.fingerprint(server) == base, f"{what}: the restore did not undo it"
    assert len(seen) == len(CHANGES) + 1  # and no two changes look alike


def test_above_the_cap_the_fingerprint_hashes_the_first_points_and_the_count(
    server: ServiceTarget,
    qdrant: QdrantClient,
    folder: Callable[[str], StateRef],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(state_fingerprint, "FINGERPRINT_POINTS", 50)
    qdrant.create_collection(
        "capped", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
    )
    qdrant.upsert(
        "capped",
        [models.PointStruct(id=i, vector=[i, 1.0], payload={"i": i}) for i in range(1, 121)],
    )
    ref = folder("capped")
    saved = PLUGIN.save_state(server, ref)
    assert PLUGIN.fingerprint(server) == saved.fingerprint  # save hashes what a check reads
    assert saved.summary == "1 collection, 120 points"

    qdrant.set_payload("capped", {"i": -1}, points=[50])  # the 50th point, in id order
    assert PLUGIN.fingerprint(server) != saved.fingerprint
    PLUGIN.restore_state(server, ref)
    qdrant.set_payload("capped", {"i": -1}, points=[100])  # past the cap: documented blind spot
    assert PLUGIN.fingerprint(server) == saved.fingerprint
    qdrant.delete("capped", models.PointIdsList(points=[100]))  # ...but the count is exact
    assert PLUGIN.fingerprint(server) != saved.fingerprint
    PLUGIN.restore_state(server, ref)
    assert qdrant.retrieve("capped", ids=[100])[0].payload == {"i": 100}  # all were saved


# ---------------------------------------------------------------- bad files, absent servers


def _rewrite(path: Path, change: Callable[[list[bytes]], list[bytes]], reseal: bool) -> None:
    """Change the lines of a state file; `reseal` recomputes its end line to match."""
    lines = change(path.read_bytes().splitlines(keepends=True))
    if reseal:
        body = lines[:-1]
        end = json.loads(lines[-1])["end"]
        end["sha256"] = hashlib.sha256(b"".join(body)).hexdigest()
        lines = [*body, json.dumps({"end": end}).encode() + b"\n"]
    path.write_bytes(b"".join(lines))


def _flip_a_digit(lines: list[bytes]) -> list[bytes]:
    index = next(i for i, line in enumerate(lines) if line.startswith(b'{"point"'))
    line = lines[index]
    position = line.index(b"0.") + 3
    digit = b"1" if line[position : position + 1] != b"1" else b"2"
    lines[index] = line[:position] + digit + line[position + 1 :]
    return lines


def _bad_point(lines: list[bytes]) -> list[bytes]:
    index = next(i for i, line in enumerate(lines) if line.startswith(b'{"point"'))
    point = json.loads(lines[index])
    point["point"]["id"] = -1
    lines[index] = json.dumps(point).encode() + b"\n"
    return lines


CORRUPTIONS: dict[str, tuple[Callable[[list[bytes]], list[bytes]], bool, str]] = {
    "cut before its end line": (lambda ls: ls[:-1], False, "ends early"),
    "cut in the middle of a line": (
        lambda ls: [*ls[:5], ls[5][: len(ls[5]) // 2]],
        False,
        "not JSON",
    ),
    "a digit changed": (_flip_a_digit, False, "checksum"),
    "a point line removed": (lambda ls: [*ls[:3], *ls[4:]], False, "checksum"),
    "a line added after the end": (lambda ls: [*ls, ls[2]], False, "follows the end"),
    "garbage": (lambda ls: [b"\x00\xffnot json at all\n"], False, "not JSON"),
    "empty": (lambda ls: [], False, "empty"),
    "not ours": (lambda ls: [b'{"something": "else"}\n', *ls[1:]], False, "not an envdeck"),
    "a newer format": (
        lambda ls: [ls[0].replace(b'"version":1', b'"version":2'), *ls[1:]],
        False,
        "version 2",
    ),
    "a malformed point, resealed": (_bad_point, True, "id"),
    "a point before any collection, resealed": (
        lambda ls: [ls[0], ls[2], *ls[1:]],
        True,
        "out of place",
    ),
}


def test_a_damaged_or_missing_state_file_is_refused_and_nothing_changes(
    server: ServiceTarget, qdrant: QdrantClient, folder: Callable[[str], StateRef]
) -> None:
    populate(qdrant)
    good = folder("good")
    PLUGIN.save_state(server, good)
    qdrant.delete_collection("empty")  # the server now differs from every state
    qdrant.set_payload("articles", {"dirty": True}, points=[1])
    dirty, dirty_fingerprint = dump(qdrant), PLUGIN.fingerprint(server)

    for what, (change, reseal, reason) in CORRUPTIONS.items():
        ref = folder(f"bad-{len(what)}-{uuid.uuid4().hex[:6]}")
        shutil.copy(state_file(good), state_file(ref))
        _rewrite(state_file(ref), change, reseal)
        with pytest.raises(InspectorError) as refused:
            PLUGIN.restore_state(server, ref)
        assert refused.value.problem is Problem.ERROR, what
        assert reason in str(refused.value), (what, str(refused.value))
        assert "nothing was changed" in str(refused.value), what
        assert dump(qdrant) == dirty, what
        assert PLUGIN.fingerprint(server) == dirty_fingerprint, what

    missing = folder("missing")
    assert not PLUGIN.state_exists(server, missing)
    with pytest.raises(InspectorError, match="is missing"):
        PLUGIN.restore_state(server, missing)
    assert dump(qdrant) == dirty

    PLUGIN.restore_state(server, good)  # the good file still restores
    assert "empty" in dump(qdrant)["collections"]


def test_state_exists_and_delete_state_are_about_the_files(
    server: ServiceTarget, qdrant: QdrantClient, folder: Callable[[str], StateRef]
) -> None:
    populate(qdrant)
    ref = folder("short-lived")
    assert not PLUGIN.state_exists(server, ref)
    PLUGIN.save_state(server, ref)
    assert PLUGIN.state_exists(server, ref)
    garbage = folder("garbage")
    state_file(garbage).write_bytes(b"not a state\n")
    assert not PLUGIN.state_exists(server, garbage)

    PLUGIN.delete_state(server, ref)
    assert not PLUGIN.state_exists(server, ref)
    assert list(ref.folder.iterdir()) == []
    PLUGIN.delete_state(server, ref)  # deleting again is fine
    assert dump(qdrant)["collections"].keys() == {"articles", "empty", NAMED}  # data untouched


def test_a_stopped_server_is_an_inspector_error_at_once(
    request: pytest.FixtureRequest, folder: Callable[[str], StateRef]
) -> None:
    with throwaway_qdrant(request) as (target, container):
        client = client_for(target)
        populate(client)
        client.close()
        ref = folder("before-stop")
        PLUGIN.save_state(target, ref)
        saved_bytes = state_file(ref).read_bytes()
        container.stop(timeout=5)
        eventually(lambda: _status(container) == "exited", "the container to stop")
        quick = target_at(target.ports[6333], timeout=2.0)

        calls: dict[str, Callable[[], Any]] = {
            "save": lambda: PLUGIN.save_state(quick, folder("while-stopped")),
            "restore": lambda: PLUGIN.restore_state(quick, ref),
            "fingerprint": lambda: PLUGIN.fingerprint(quick),
        }
        for what, call in calls.items():
            started = time.monotonic()
            with pytest.raises(InspectorError) as caught:
                call()
            assert caught.value.problem is Problem.DOWN, (what, caught.value)
            # Refused at once, not retried: well within the 2 s request timeout.
            assert time.monotonic() - started < quick.timeout, what
        assert state_file(ref).read_bytes() == saved_bytes
        assert list((ref.folder.parent.parent / "while-stopped" / "qdrant").iterdir()) == []


def test_a_server_that_never_answers_times_out_on_each_request(
    silent_port: int, folder: Callable[[str], StateRef]
) -> None:
    target = target_at(silent_port, timeout=0.5)
    for call in (
        lambda: PLUGIN.fingerprint(target),
        lambda: PLUGIN.save_state(target, folder("silent")),
    ):
        started = time.monotonic()
        with pytest.raises(InspectorError) as caught:
            call()
        assert caught.value.problem is Problem.TIMEOUT
        assert time.monotonic() - started < 2.0


# ---------------------------------------------------------------- size


def test_ten_thousand_points_round_trip_exactly(
    server: ServiceTarget, qdrant: QdrantClient, folder: Callable[[str], StateRef]
) -> None:
    dim, count = 32, 10_000
    qdrant.create_collection(
        "big", vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE)
    )
    for start in range(0, count, 2_500):
        qdrant.upsert(
            "big",
            [
                models.PointStruct(
                    id=i if i % 2 else uid(i),
                    vector=[math.sin(i * (k + 1)) for k in range(dim)],
                    payload={"i": i, "tag": f"t{i % 7}", "text": HOSTILE},
                )
                for i in range(start, start + 2_500)
            ],
        )
    before = dump(qdrant)
    assert len(before["collections"]["big"]["points"]) == count
    ref = folder("big")

    started = time.perf_counter()
    saved = PLUGIN.save_state(server, ref)
    save_s = time.perf_counter() - started
    started = time.perf_counter()
    live = PLUGIN.fingerprint(server)
    fingerprint_s = time.perf_counter() - started
    assert live == saved.fingerprint
    assert saved.summary == "1 collection, 10,000 points"

    qdrant.delete(
        "big",
        models.FilterSelector(
            filter=models.Filter(
                must=[models.FieldCondition(key="tag", match=models.MatchValue(value="t3"))]
            )
        ),
    )
    qdrant.set_payload("big", {"i": -1}, points=[9_997])  # not a t3 one
    started = time.perf_counter()
    PLUGIN.restore_state(server, ref)
    restore_s = time.perf_counter() - started

    assert dump(qdrant) == before
    assert PLUGIN.fingerprint(server) == saved.fingerprint
    print(
        f"\n{count:,} points of {dim} dims ({saved.size_bytes / 1e6:.1f} MB): save {save_s:.2f} s,"
        f" fingerprint {fingerprint_s:.2f} s, restore {restore_s:.2f} s"
    )


def test_the_sample_seed_runs_again_over_its_own_collection(
    server: ServiceTarget, qdrant: QdrantClient
) -> None:
    # `envdeck down` keeps volumes: the next `up` seeds a server that has the collection.
    env = {**os.environ, "ENVDECK_QDRANT_PORT_6333": str(server.ports[6333])}
    subprocess.run([sys.executable, str(SEED)], env=env, check=True, capture_output=True)
    seeded = dump(qdrant)
    qdrant.upsert(
        "seed_articles",
        points=[models.PointStruct(id=1, vector=[0.5, 0.5, 0, 0], payload={"title": "changed"})],
    )
    again = subprocess.run(
        [sys.executable, str(SEED)], env=env, capture_output=True, text=True, check=False
    )
    assert again.returncode == 0, again.stderr
    assert dump(qdrant) == seeded  # the seed's points are written again, as they were
