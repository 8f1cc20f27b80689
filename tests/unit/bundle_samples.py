"""A failure, its environment and its window's logs, with a secret in every place one hides.

Shared by the bundle's unit tests and the `envdeck bundle open` Pilot tests: each secret is
distinct, so a test that greps the bundle for all of them names the masking that broke.
"""

from __future__ import annotations

from typing import Any

from tui.core.bundle import BundleContext, context_from
from tui.core.log_buffer import LogLine
from tui.core.testrun.events import FinishedEvent, parse_event

# Where each one hides, and which rule must mask it (tui/core/bundle/scrub.py).
SECRETS = {
    "env-pw-Q1": "service env, by its name (and, rule 2, in a service's log line)",
    "url-pw-Q2": "a URL's password in a service env not named secret (and in the report)",
    "cmd-pw-Q3": "the word after --requirepass in a command",
    "entry-pw-Q4": "--password=… inside an entrypoint's shell string",
    "health-pw-Q5": "the word after redis-cli -a in a healthcheck test",
    "label-pw-Q6": "a label whose name says auth",
    "out-pw-Q7": "PASSWORD=… in the test's captured output",
    "out-url-Q8": "a URL's password in the test's captured output",
    "arg-pw-Q9": "a build arg named TOKEN",
}
START = "2026-01-02T10:00:00.000000Z"
STOP = "2026-01-02T10:00:02.000000Z"
FAILED_AT = "2026-01-02T10:00:01.500000Z"
HOSTILE_NODEID = "tests/../../evil\x1b]0;pwn\x07/`x|<b>`.py::test_[../etc]\u202egpj"
HOSTILE_SERVICE = "db\u202e|`[x](javascript:alert(1))`"


def compose_config() -> dict[str, Any]:
    return {
        "name": "shop",
        "services": {
            "db": {
                "image": "postgres:15-alpine",
                "environment": {
                    "POSTGRES_PASSWORD": "env-pw-Q1",
                    "DATABASE_URL": "postgres://app:url-pw-Q2@db:5432/shop",
                    "POSTGRES_USER": "app",
                },
                "healthcheck": {"test": ["CMD", "redis-cli", "-a", "health-pw-Q5", "ping"]},
                "labels": {"traefik.http.middlewares.basicauth.users": "admin:label-pw-Q6"},
            },
            "cache": {
                "image": "redis:7",
                "command": ["redis-server", "--requirepass", "cmd-pw-Q3", "--save", ""],
                "entrypoint": ["sh", "-c", "exec app --password=entry-pw-Q4 --port 1"],
                "build": {"context": ".", "args": {"GITHUB_TOKEN": "arg-pw-Q9"}},
            },
        },
    }


def status_document(services: tuple[str, ...] = ("db", "cache")) -> dict[str, Any]:
    return {
        "project": "shop",
        "engine": {"connected": True, "version": "20.10.24"},
        "services": [
            {
                "name": name,
                "container": f"shop-{name}-1",
                "state": "running",
                "health": "healthy",
                "exit_code": None,
                "restarts": 0,
                "started_at": START,
                "image": "postgres:15-alpine",
                "ports": [],
                "cpu_percent": None,
                "mem_bytes": None,
            }
            for name in services
        ],
    }


def sample_context(services: tuple[str, ...] = ("db", "cache")) -> BundleContext:
    versions = {
        "envdeck": "0.1.0",
        "compose": "2.40.3",
        "docker": {"Version": "20.10.24", "ApiVersion": "1.41"},
    }
    return context_from(
        status_document(services),
        compose_config(),
        versions,
        taken_at="2026-01-02T10:00:05.000000Z",
    )


def sample_failure(nodeid: str = "tests/test_shop.py::test_checkout") -> FinishedEvent:
    event = parse_event(
        {
            "kind": "finished",
            "nodeid": nodeid,
            "outcome": "failed",
            "duration": 1.5,
            "when": "call",
            "longrepr": (
                "    def test_checkout():\n"
                ">       assert dsn_password() == 'url-pw-Q2'\n"
                "E       AssertionError: assert 'x' == 'url-pw-Q2'\n"
            ),
            "reason": "",
            "sections": [
                [
                    "Captured stdout call",
                    "connecting\nPASSWORD=out-pw-Q7\nurl postgres://u:out-url-Q8@h/db\n",
                ]
            ],
            "start": START,
            "stop": STOP,
            "phases": [
                ["setup", START, "2026-01-02T10:00:00.200000Z"],
                ["call", "2026-01-02T10:00:00.200000Z", FAILED_AT],
                ["teardown", FAILED_AT, STOP],
            ],
            "failed_at": FAILED_AT,
            "exception": "AssertionError",
        }
    )
    assert isinstance(event, FinishedEvent)
    return event


def log_line(service: str, at: str, text: str) -> LogLine:
    return LogLine(service, "abc123", f"2026-01-02T10:00:0{at}000Z", text, "stdout")


def sample_logs(db: str = "db") -> list[LogLine]:
    return [
        log_line(db, "0.100000", "checkpoint starting"),
        log_line("cache", "0.900000", "Accepted 172.18.0.1:5000"),
        log_line(db, "1.400000", "FATAL: password authentication failed: env-pw-Q1"),
        log_line("cache", "1.600000", "Client closed connection"),
    ]
