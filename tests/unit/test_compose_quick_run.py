"""A quick compose run (`config`, `version`) turns Go's collector off under a memory
ceiling: the same answer, less CPU; a GOGC or GOMEMLIMIT the user set is theirs."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import REPO
from tui.core.compose_cli import QUICK_RUN_GO_ENV, ComposeCommand, find_compose_binary

SAMPLE = REPO / "compose"


def sample_compose() -> ComposeCommand:
    return ComposeCommand(
        binary=tuple(find_compose_binary()),
        files=(SAMPLE / "compose.yaml", SAMPLE / "compose.offline.yaml"),
        cwd=SAMPLE,
    )


def test_a_quick_config_is_the_same_answer() -> None:
    compose = sample_compose()
    slow = compose.run("config", "--format", "json")
    quick = compose.run("config", "--format", "json", quick=True)
    assert json.loads(quick) == json.loads(slow)
    assert json.loads(quick)["services"]  # a real answer, not two empty ones


def test_a_quick_run_has_the_collector_off_and_others_do_not() -> None:
    compose = sample_compose()
    quick = compose.environment(quick=True)
    assert {name: quick[name] for name in QUICK_RUN_GO_ENV} == QUICK_RUN_GO_ENV
    plain = compose.environment()
    # `up`, `down` and the like run long: they keep Go's defaults (or the user's).
    assert plain.get("GOGC") == os.environ.get("GOGC")
    assert plain.get("GOMEMLIMIT") == os.environ.get("GOMEMLIMIT")


@pytest.mark.parametrize("name", sorted(QUICK_RUN_GO_ENV))
def test_a_go_setting_the_user_made_is_kept(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOGC", raising=False)
    monkeypatch.delenv("GOMEMLIMIT", raising=False)
    monkeypatch.setenv(name, "100" if name == "GOGC" else "2GiB")
    env = sample_compose().environment(quick=True)
    assert env[name] == os.environ[name]
    assert all(env.get(other) is None for other in QUICK_RUN_GO_ENV if other != name)
