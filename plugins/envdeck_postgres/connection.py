"""Where and how to connect to a PostgreSQL service: host, port, user, password and
database from the service's settings and environment, and server-side limits derived from
the call's time budget (statement, lock and idle-in-transaction timeouts)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tui.plugins.api import ServiceTarget

POSTGRES_PORT = 5432


@dataclass(frozen=True)
class Timeouts:
    """Server-side limits derived from the call's time budget."""

    connect_s: int  # libpq counts whole seconds, and at least 2
    statement_ms: int
    lock_ms: int
    idle_in_transaction_ms: int

    @classmethod
    def for_budget(cls, seconds: float) -> Timeouts:
        statement_ms = max(100, int(seconds * 1000))
        return cls(
            connect_s=max(2, math.ceil(seconds)),
            statement_ms=statement_ms,
            # Waiting for a lock is rarely worth the whole budget: fail early, say why.
            lock_ms=max(100, statement_ms // 2),
            # If envdeck itself hangs mid-transaction, the server cleans up after it.
            idle_in_transaction_ms=max(1000, statement_ms * 2),
        )


@dataclass(frozen=True)
class ConnectionSettings:
    service: str
    host: str
    port: int
    user: str
    password: str
    password_source: str  # where the password came from, for AUTH messages
    dbname: str
    timeouts: Timeouts

    @classmethod
    def from_target(cls, target: ServiceTarget) -> ConnectionSettings:
        user = target.setting("user", "POSTGRES_USER", default="postgres")
        return cls(
            service=target.service,
            host=target.host,
            port=target.published_port(POSTGRES_PORT),
            user=user,
            password=target.setting("password", "POSTGRES_PASSWORD"),
            password_source=_password_source(target),
            # The official image's POSTGRES_DB defaults to the user's name.
            dbname=target.setting("dbname", "POSTGRES_DB", default=user),
            timeouts=Timeouts.for_budget(target.timeout),
        )

    def connect_kwargs(self, read_only: bool) -> dict[str, Any]:
        t = self.timeouts
        options = [
            f"statement_timeout={t.statement_ms}",
            f"lock_timeout={t.lock_ms}",
            f"idle_in_transaction_session_timeout={t.idle_in_transaction_ms}",
            "DateStyle=ISO,YMD",
            "bytea_output=hex",
        ]
        if read_only:
            options.append("default_transaction_read_only=on")
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": self.dbname,
            "connect_timeout": t.connect_s,  # without it psycopg may wait ~130 s
            "application_name": "envdeck",
            "client_encoding": "UTF8",
            "options": " ".join(f"-c {option}" for option in options),
        }
        if self.password:
            kwargs["password"] = self.password
        return kwargs


def _password_source(target: ServiceTarget) -> str:
    if "password" in target.options:
        return "`password` option"
    if target.environment.get("POSTGRES_PASSWORD"):
        return "POSTGRES_PASSWORD"
    return "none set"
