"""Why a service is unhealthy, in one line (`tui.core.details.unhealthy_reason`): what
`status` and `up` say instead of a bare "unhealthy"."""

from __future__ import annotations

from typing import Any

from tui.core.details import LAST_PROBE_CHARS, unhealthy_reason


def inspect(status: str, *outputs: str, test: list[str] | None = None) -> dict[str, Any]:
    log = [{"Start": "t", "End": "t", "ExitCode": 1, "Output": output} for output in outputs]
    return {
        "Config": {"Healthcheck": {"Test": test or ["CMD-SHELL", "pg_isready -U app"]}},
        "State": {"Health": {"Status": status, "FailingStreak": len(outputs), "Log": log}},
    }


def test_the_check_the_streak_and_the_last_line_of_the_last_run() -> None:
    reason = unhealthy_reason(
        inspect("unhealthy", "old run", "  % Total  progress\r\n\ncurl: (7) refused\n\n")
    )
    assert reason == (
        "unhealthy: its healthcheck `pg_isready -U app` failed 2 times in a row; "
        "its last run (exit 1) said: curl: (7) refused"
    )


def test_only_an_unhealthy_container_has_a_reason() -> None:
    assert unhealthy_reason(inspect("healthy", "ok")) is None
    assert unhealthy_reason(inspect("starting", "not yet")) is None
    assert unhealthy_reason({"State": {"Status": "running"}}) is None


def test_secrets_are_masked_and_control_sequences_made_visible() -> None:
    reason = unhealthy_reason(
        inspect(
            "unhealthy",
            "auth failed for postgres://app:hunter2@db/x \x1b[2J\x1b]0;owned\x07",
            test=["CMD", "redis-cli", "-a", "s3cret", "ping"],
        )
    )
    assert reason is not None
    assert "hunter2" not in reason
    assert "s3cret" not in reason
    assert "\x1b" not in reason
    assert "\x07" not in reason


def test_a_long_last_line_is_cut() -> None:
    reason = unhealthy_reason(inspect("unhealthy", "x" * 5000))
    assert reason is not None
    assert reason.endswith("x" * LAST_PROBE_CHARS + "…")


def test_a_check_that_printed_nothing() -> None:
    reason = unhealthy_reason(inspect("unhealthy", "\n"))
    assert reason is not None
    assert reason.endswith("said: (nothing)")
