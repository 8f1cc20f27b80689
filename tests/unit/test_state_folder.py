"""The state folder's manners in a user's repository, and the baseline advice said once."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tui.reset.baseline_notice import BaselineNotices, automatic_baseline_notice, baseline_advice
from tui.reset.state_folder import ensure_state_folder
from tui.reset.steps import Outcome, StepEvent, StepState
from tui.reset.store import LastReset, StateStore


def test_a_new_state_folder_carries_a_gitignore_of_everything(tmp_path: Path) -> None:
    root = tmp_path / "deep" / ".envdeck"
    ensure_state_folder(root)
    lines = (root / ".gitignore").read_text().splitlines()
    assert lines[0].startswith("#")
    assert "*" in lines
    assert (root / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f")
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(root.stat().st_mode) == 0o777 & ~umask  # as a mkdir makes it
    assert [entry.name for entry in root.parent.iterdir()] == [".envdeck"]  # no staging left


def test_a_folder_that_exists_is_left_as_it_is(tmp_path: Path) -> None:
    ensure_state_folder(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_store_makes_its_folder_that_way(tmp_path: Path) -> None:
    store = StateStore(tmp_path / ".envdeck", "shop")
    store.record_reset(LastReset("fast reset", 1.0, 0.5, True))
    assert (tmp_path / ".envdeck" / ".gitignore").is_file()
    staging = StateStore(tmp_path / "other", "shop").begin("baseline")
    assert staging.is_dir()
    assert (tmp_path / "other" / ".gitignore").is_file()


FAILED_SAVE = "save db: connection refused"
PLUGIN_FIX = "save db: auth failed. Set `password` under [tool.envdeck.services.db]"


def test_the_advice_carries_the_failure_and_the_fix() -> None:
    advice = baseline_advice(FAILED_SAVE)
    assert advice.startswith("No baseline yet, so a fast reset has nothing to return to.")
    assert FAILED_SAVE in advice
    assert "[tool.envdeck.services.NAME] (user, password, database, port)" in advice
    assert "protected = true" in advice
    own_fix = baseline_advice(PLUGIN_FIX)
    assert PLUGIN_FIX in own_fix
    assert "services.NAME" not in own_fix  # the plugin said which setting already


def test_another_checkouts_containers_get_no_credential_advice() -> None:
    refusal = (
        "check the containers are this checkout's: project shop is not this checkout's "
        "(/b/shop): shop-db-1 was created from /a/shop. Run envdeck from that checkout"
    )
    advice = baseline_advice(refusal)
    assert refusal in advice
    assert "password" not in advice


def failed(detail: str) -> Outcome:
    return Outcome("take baseline", (StepEvent("save db", StepState.FAILED, detail, 0.1),), 0.1)


def test_the_same_advice_is_said_once_a_new_one_again_and_a_baseline_resets_it(
    tmp_path: Path,
) -> None:
    store = StateStore(tmp_path / ".envdeck", "shop")
    first = automatic_baseline_notice(store, failed("connection refused"))
    assert first is not None
    assert (tmp_path / ".envdeck" / ".gitignore").is_file()  # the memory's folder too
    assert automatic_baseline_notice(store, failed("connection refused")) is None
    assert automatic_baseline_notice(store, failed("auth failed")) is not None
    taken = Outcome("take baseline", (StepEvent("save db", StepState.DONE, "ok", 0.1),), 0.1)
    assert automatic_baseline_notice(store, taken) is None
    assert automatic_baseline_notice(store, failed("auth failed")) is not None
    assert BaselineNotices(store).said(baseline_advice("save db: auth failed"))
