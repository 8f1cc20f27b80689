"""Failure bundles without an engine: what is written, that no secret is, and reading back."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.unit.bundle_samples import (
    FAILED_AT,
    HOSTILE_NODEID,
    HOSTILE_SERVICE,
    SECRETS,
    sample_context,
    sample_failure,
    sample_logs,
)
from tui.core.bundle import BundleError, find_bundles, read_bundle, write_bundle
from tui.core.bundle.layout import slug
from tui.core.bundle.markdown import md_code, md_text
from tui.core.bundle.scrub import Scrubber, mask_argv, mask_config
from tui.core.secrets import MASK
from tui.core.testrun.events import finished_wire, parse_event

EVERY_FILE = {
    "README.md",
    "bundle.json",
    "report.txt",
    "logs.txt",
    "logs.jsonl",
    "status.json",
    "compose-config.json",
    "versions.json",
    "data-diff.txt",
}
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b-\u200f]")


def bundle_files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


# ---------------------------------------------------------------- no secret in the clear


def test_no_secret_is_anywhere_in_a_bundle(tmp_path: Path) -> None:
    diff = "redis: SET session:1 (was absent)\nrow users/1: token=url-pw-Q2"
    folder = write_bundle(
        tmp_path, sample_failure(), sample_context(), sample_logs(), data_diff=diff
    )
    files = bundle_files(folder)
    assert set(files) >= EVERY_FILE
    leaks = {
        secret: [name for name, data in files.items() if secret.encode() in data]
        for secret in SECRETS
    }
    assert {secret: where for secret, where in leaks.items() if where} == {}
    # Masked, not dropped: the places still say there was something.
    assert f"PASSWORD={MASK}" in files["report.txt"].decode()
    assert f"failed: {MASK}" in files["logs.txt"].decode()


def test_the_compose_config_keeps_its_shape_with_secrets_masked() -> None:
    masked, found = mask_config(
        {
            "services": {
                "db": {
                    "environment": {"POSTGRES_PASSWORD": "pw-1234", "POSTGRES_USER": "app"},
                    "command": ["redis-server", "--requirepass", "pw-5678", "--port", "6379"],
                    "healthcheck": {"test": ["CMD-SHELL", "redis-cli -a pw-9012 ping"]},
                    "ports": [{"published": "5432", "target": 5432}],
                    "read_only": True,
                }
            }
        }
    )
    db = masked["services"]["db"]
    assert db["environment"] == {"POSTGRES_PASSWORD": MASK, "POSTGRES_USER": "app"}
    assert db["command"] == ["redis-server", "--requirepass", MASK, "--port", "6379"]
    assert db["healthcheck"]["test"] == ["CMD-SHELL", f"redis-cli -a {MASK} ping"]
    assert db["ports"] == [{"published": "5432", "target": 5432}]
    assert db["read_only"] is True
    assert found == {"pw-1234", "pw-5678", "pw-9012"}


@pytest.mark.parametrize(
    ("argv", "masked"),
    [
        (
            ["redis-cli", "-h", "cache", "-a", "pw", "ping"],
            ["redis-cli", "-h", "cache", "-a", MASK, "ping"],
        ),
        (["app", "--api-key", "k"], ["app", "--api-key", MASK]),
        (["app", "--password=pw", "next"], ["app", f"--password={MASK}", "next"]),
        (["sh", "-c", "echo hi"], ["sh", "-c", "echo hi"]),
        (["psql", "-p", "5432"], ["psql", "-p", "5432"]),  # a bare -p is a port
    ],
)
def test_an_argv_masks_the_value_after_a_secret_flag(argv: list[str], masked: list[str]) -> None:
    assert mask_argv(argv) == masked


def test_known_values_are_masked_in_free_text_but_short_ones_are_left() -> None:
    scrubber = Scrubber(["s3cret-value", "pw"])
    assert scrubber.text("auth failed for s3cret-value, pw ok") == f"auth failed for {MASK}, pw ok"


# ---------------------------------------------------------------- hostile names


def test_hostile_names_stay_inside_the_folder_and_inert(tmp_path: Path) -> None:
    root = tmp_path / "bundles"
    logs = sample_logs(db=HOSTILE_SERVICE)
    context = sample_context(services=(HOSTILE_SERVICE, "cache"))
    folder = write_bundle(root, sample_failure(HOSTILE_NODEID), context, logs)
    assert folder.parent == root  # no `..` or separator of the test id made a path
    assert not folder.name.startswith(".")
    for path in folder.rglob("*"):
        assert path.resolve().is_relative_to(folder.resolve())
    for name, data in bundle_files(folder).items():
        assert not UNSAFE.search(data.decode()), f"{name} holds a control or bidi character"
    readme = (folder / "README.md").read_text()
    outside_code = re.sub(r"(`+).*?\1", "", readme)  # code spans show their text as is
    assert "<b>" in readme
    assert "<b>" not in outside_code
    assert "](javascript:" not in outside_code  # the service name's link is inert text
    shown = read_bundle(folder)
    assert shown.result.nodeid == HOSTILE_NODEID  # kept exactly, made safe when shown
    assert {line.service for line in shown.lines} == {
        "db\\u202e|`[x](javascript:alert(1))`",
        "cache",
    }


def test_markdown_helpers_never_let_text_out_of_its_span() -> None:
    assert md_text("a|b*c[d](e)<f>") == "a\\|b\\*c\\[d\\]\\(e\\)\\<f\\>"
    assert md_code("x``y") == "```x``y```"
    assert md_code("a|b", in_table=True) == "`a\\|b`"


def test_slugs_are_one_component_and_tell_names_apart() -> None:
    assert slug("../../etc/passwd") != slug("..-..-etc-passwd")
    assert "/" not in slug("a/b")
    assert not slug("..x").startswith(".")


def test_a_second_bundle_of_the_same_test_gets_its_own_folder(tmp_path: Path) -> None:
    first = write_bundle(tmp_path, sample_failure(), sample_context(), sample_logs())
    second = write_bundle(tmp_path, sample_failure(), sample_context(), sample_logs())
    assert first != second
    assert second.name == f"{first.name}-2"
    assert find_bundles(tmp_path) == [first, second]  # no half-written `.partial` listed


# ---------------------------------------------------------------- reading back


def test_what_is_written_reads_back_as_the_failure_view_needs(tmp_path: Path) -> None:
    folder = write_bundle(
        tmp_path, sample_failure(), sample_context(), sample_logs(), data_diff={"k": "v"}
    )
    bundle = read_bundle(folder)
    assert bundle.result.nodeid == "tests/test_shop.py::test_checkout"
    assert bundle.result.exception == "AssertionError"
    assert bundle.result.failed_at == FAILED_AT
    assert [line.text for line in bundle.lines][:2] == [
        "checkpoint starting",
        "Accepted 172.18.0.1:5000",
    ]
    assert [mark.label for mark in bundle.marks] == [
        "call began: its output from here",
        "test failed here (AssertionError)",
    ]
    assert bundle.data_diff is not None
    assert '"k": "v"' in bundle.data_diff
    assert bundle.status is not None
    assert bundle.status["project"] == "shop"


def test_logs_file_marks_the_failure_after_the_line_just_before_it(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path, sample_failure(), sample_context(), sample_logs())
    lines = (folder / "logs.txt").read_text().splitlines()
    at = lines.index("──── 10:00:01.500 test failed here (AssertionError) ────")
    assert lines[at - 1].startswith("db    | 10:00:01.400 FATAL")
    assert lines[at + 1].startswith("cache | 10:00:01.600 Client closed")
    readme = (folder / "README.md").read_text()
    assert "FATAL: password authentication failed" in readme  # quoted: just before it


def test_a_bundle_without_logs_says_why(tmp_path: Path) -> None:
    folder = write_bundle(
        tmp_path, sample_failure(), sample_context(), None, logs_problem="engine gone"
    )
    assert "service logs unavailable: engine gone" in (folder / "logs.txt").read_text()
    assert read_bundle(folder).logs_problem == "engine gone"


def test_the_reader_refuses_what_is_not_a_bundle_it_can_read(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no failure bundle"):
        find_bundles(tmp_path)
    folder = write_bundle(tmp_path, sample_failure(), sample_context(), sample_logs())
    manifest = json.loads((folder / "bundle.json").read_text())
    (folder / "bundle.json").write_text(json.dumps({**manifest, "schema": 99}))
    with pytest.raises(BundleError, match="newer than this envdeck reads"):
        read_bundle(folder)
    (folder / "bundle.json").write_text(json.dumps({**manifest, "kind": "other"}))
    with pytest.raises(BundleError, match="not an envdeck failure bundle"):
        read_bundle(folder)


def test_the_reader_follows_no_symlink_out_of_the_bundle(tmp_path: Path) -> None:
    outside = tmp_path / "outside.jsonl"
    outside.write_text('{"service": "x", "timestamp": "t", "text": "private"}\n')
    folder = write_bundle(tmp_path / "b", sample_failure(), sample_context(), sample_logs())
    (folder / "logs.jsonl").unlink()
    os.symlink(outside, folder / "logs.jsonl")
    with pytest.raises(BundleError, match="not a regular file"):
        read_bundle(folder)


def test_a_finished_event_round_trips_through_its_wire_format() -> None:
    event = sample_failure()
    assert event.phases
    assert event.sections
    assert parse_event(finished_wire(event)) == event


def test_a_known_value_cut_short_beside_an_ellipsis_is_masked_too() -> None:
    """pytest shortens a long repr to its start, `...` and its end: the end of a password
    alone is still most of it (found by a new user: 12 of 15 characters in a bundle)."""
    scrub = Scrubber(["R3dis-Pass-9931"])
    cut = scrub.text("E  AssertionError: assert {'requirepass...is-Pass-9931'} == {}")
    assert "Pass-9931" not in cut
    assert cut == f"E  AssertionError: assert {{'requirepass...{MASK}'}} == {{}}"
    assert scrub.text("'R3dis-Pa...'") == f"'{MASK}...'"
    assert scrub.text("R3dis-Pass…") == f"{MASK}…"
    # Beside no ellipsis, or too short to tell, a fragment is just text.
    assert scrub.text("9931 and Pass and ...31") == "9931 and Pass and ...31"
