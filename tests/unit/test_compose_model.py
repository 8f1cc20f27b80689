from __future__ import annotations

from typing import Any

import pytest

from tui.core.compose_model import parse_duration, parse_project

CONFIG: dict[str, Any] = {
    "name": "shop",
    "services": {
        "db": {
            "image": "postgres:15",
            "ports": [
                {
                    "mode": "ingress",
                    "host_ip": "127.0.0.1",
                    "target": 5432,
                    "published": "15432",
                    "protocol": "tcp",
                },
            ],
            "healthcheck": {
                "test": ["CMD", "pg_isready"],
                "interval": "1s",
                "timeout": "1m30s",
                "retries": 5,
                "start_period": "500ms",
            },
            "environment": {"POSTGRES_PASSWORD": "secret", "EMPTY": None},
        },
        "api": {
            "image": "python:3.12",
            "depends_on": {"db": {"condition": "service_healthy", "required": True}},
            "ports": [{"target": 8080, "protocol": "tcp"}],
            "healthcheck": {"disable": True},
            "profiles": ["web"],
        },
    },
    "volumes": {"db-data": {"name": "shop_db-data"}},
}


def test_services_ports_and_healthchecks_are_read_from_compose_output() -> None:
    project = parse_project(CONFIG)
    assert project.name == "shop"
    assert project.service_names == ("api", "db")
    db = project.services["db"]
    assert db.published_port(5432) == 15432
    assert db.healthcheck is not None
    assert (db.healthcheck.interval_s, db.healthcheck.timeout_s) == (1.0, 90.0)
    assert db.healthcheck.start_period_s == pytest.approx(0.5)
    assert db.environment == {"POSTGRES_PASSWORD": "secret", "EMPTY": None}
    api = project.services["api"]
    assert api.depends_on == ("db",)
    assert api.profiles == ("web",)
    assert api.healthcheck is not None
    assert api.healthcheck.disabled
    assert api.published_port(8080) is None
    assert project.volumes == ("db-data",)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1s", 1.0),
        ("1m30s", 90.0),
        ("250ms", 0.25),
        ("1h", 3600.0),
        (2_000_000_000, 2.0),
        (None, None),
    ],
)
def test_durations(value: str | int | None, seconds: float | None) -> None:
    assert parse_duration(value) == (pytest.approx(seconds) if seconds is not None else None)


def test_a_bad_duration_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")
