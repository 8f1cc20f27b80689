from __future__ import annotations

from typing import Any

from tui.core.details import details_from_inspect
from tui.core.secrets import MASK

ATTRS: dict[str, Any] = {
    "Name": "/shop-db-1",
    "Config": {
        "Image": "postgres:15",
        "Entrypoint": ["docker-entrypoint.sh"],
        "Cmd": ["postgres", "--password=hunter2"],
        "Env": [
            "POSTGRES_PASSWORD=s3cret",
            "POSTGRES_DB=shop",
            "URL=pg://u:pw@h/db",
            "EMPTY=",
            "EVIL=\x1b]52;c;Zm9v\x07",
        ],
        "Healthcheck": {"Test": ["CMD-SHELL", "pg_isready -h 127.0.0.1"]},
    },
    "State": {
        "Status": "running",
        "Health": {
            "Status": "unhealthy",
            "FailingStreak": 3,
            "Log": [
                {"Start": "2026-11-22T03:00:00Z", "ExitCode": 0, "Output": "accepting\n"},
                {
                    "Start": "2026-11-22T03:00:01Z",
                    "ExitCode": 2,
                    "Output": "127.0.0.1:5432 - no response\n",
                },
            ],
        },
    },
}


def test_env_is_masked_until_revealed_and_never_carries_control_characters() -> None:
    details = details_from_inspect("db", ATTRS)
    env = {var.name: var for var in details.env}
    assert env["POSTGRES_PASSWORD"].masked == MASK
    assert env["POSTGRES_PASSWORD"].value == "s3cret"
    assert env["POSTGRES_DB"].masked == "shop"
    assert not env["POSTGRES_DB"].is_masked
    assert env["URL"].masked == f"pg://u:{MASK}@h/db"
    assert env["EMPTY"].masked == ""
    assert "\x1b" not in env["EVIL"].value
    assert "\x07" not in env["EVIL"].value


def test_command_is_masked_too() -> None:
    details = details_from_inspect("db", ATTRS)
    assert details.command == "docker-entrypoint.sh postgres --password=hunter2"
    assert details.command_masked == f"docker-entrypoint.sh postgres --password={MASK}"


def test_health_history_newest_first_with_the_checks_own_output() -> None:
    details = details_from_inspect("db", ATTRS)
    assert details.health_status == "unhealthy"
    assert details.failing_streak == 3
    assert details.health_test == "pg_isready -h 127.0.0.1"
    assert [(p.exit_code, p.output) for p in details.health_log] == [
        (2, "127.0.0.1:5432 - no response"),
        (0, "accepting"),
    ]


def test_the_healthcheck_and_its_output_are_masked_by_the_same_rule() -> None:
    attrs: dict[str, Any] = {
        "Config": {
            "Cmd": ["sh", "-c", "PGPASSWORD=hunter2 psql postgres://u:p@ss@h/db"],
            "Env": ["REDIS_URL=redis://:pa/ss@cache:6379", "HOOK=https://h/?token=t0k"],
            "Healthcheck": {"Test": ["CMD-SHELL", "PGPASSWORD=hunter2 psql -h db -c 'select 1'"]},
        },
        "State": {
            "Health": {
                "Status": "unhealthy",
                "Log": [{"Start": "s", "ExitCode": 1, "Output": "PGPASSWORD=hunter2\nrefused"}],
            }
        },
    }
    details = details_from_inspect("db", attrs)
    assert details.health_test == "PGPASSWORD=hunter2 psql -h db -c 'select 1'"
    assert details.health_test_masked == f"PGPASSWORD={MASK} psql -h db -c 'select 1'"
    assert details.health_log[0].output_masked == f"PGPASSWORD={MASK}␊refused"
    assert "hunter2" in details.health_log[0].output
    assert "hunter2" not in details.command_masked
    assert "p@ss" not in details.command_masked
    env = {var.name: var.masked for var in details.env}
    assert env == {"REDIS_URL": f"redis://:{MASK}@cache:6379", "HOOK": f"https://h/?token={MASK}"}
