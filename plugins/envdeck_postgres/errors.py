"""psycopg failures as InspectorErrors: which kind, and what to do about it.

Connection failures carry no SQLSTATE (libpq reports them as text), so those are told
apart by libpq's wording; errors from statements are told apart by SQLSTATE.
"""

from __future__ import annotations

import psycopg

from envdeck_postgres.connection import ConnectionSettings
from tui.plugins.api import InspectorError, Problem

READ_ONLY_STATES = {
    "25006",  # read_only_sql_transaction: a write in a read-only transaction
    "25001",  # active_sql_transaction: `SET TRANSACTION READ WRITE` after our snapshot
}
GONE_STATES = {"57P01", "57P02", "57P03"}  # admin/crash shutdown, cannot connect now
_GONE_WORDS = (
    "server closed the connection",
    "connection is lost",
    "connection is closed",
    "terminating connection",
    "consuming input failed",
)
_REFUSED_WORDS = (
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "too many clients",
    "remaining connection slots",
    "pg_hba.conf",
)
_AUTH_WORDS = ("password authentication failed", "no password supplied", "does not exist")


def inspector_error(error: psycopg.Error, settings: ConnectionSettings) -> InspectorError:
    """The InspectorError to show for `error`, raised while talking to `settings`."""
    if error.sqlstate is None:
        return _connection_error(error, settings)
    return _statement_error(error, settings)


def _connection_error(error: psycopg.Error, settings: ConnectionSettings) -> InspectorError:
    text = str(error)
    reason = libpq_reason(text)
    where = f"{settings.host}:{settings.port}"
    lowered = text.lower()
    if isinstance(error, psycopg.errors.ConnectionTimeout) or "timeout expired" in lowered:
        return InspectorError(
            Problem.TIMEOUT,
            f"no answer from PostgreSQL at {where} within {settings.timeouts.connect_s} s",
        )
    if "connection refused" in lowered:
        return InspectorError(
            Problem.DOWN,
            f"nothing listens on {where} (connection refused): is {settings.service} running?",
        )
    if any(words in lowered for words in _GONE_WORDS):
        return InspectorError(
            Problem.DOWN, f"PostgreSQL at {where} closed the connection: {reason}"
        )
    if any(words in lowered for words in _REFUSED_WORDS):
        return InspectorError(Problem.REFUSED, f"PostgreSQL at {where} refused: {reason}")
    if 'database "' in lowered and "does not exist" in lowered:
        return InspectorError(
            Problem.ERROR,
            f"{reason}; set `dbname` under [tool.envdeck.services.{settings.service}]",
        )
    if any(words in lowered for words in _AUTH_WORDS):
        return _auth_error(reason, settings)
    return InspectorError(Problem.ERROR, f"cannot connect to PostgreSQL at {where}: {reason}")


def _auth_error(reason: str, settings: ConnectionSettings) -> InspectorError:
    return InspectorError(
        Problem.AUTH,
        f"PostgreSQL refused user {settings.user!r}: {reason}. Set `user` and `password` "
        f"under [tool.envdeck.services.{settings.service}] "
        f"(password now from: {settings.password_source})",
    )


def _statement_error(error: psycopg.Error, settings: ConnectionSettings) -> InspectorError:
    state = error.sqlstate or ""
    message = server_message(error)
    timeouts = settings.timeouts
    if state == "57014":  # query_canceled
        return InspectorError(
            Problem.TIMEOUT,
            f"cancelled by statement_timeout (this call may take {timeouts.statement_ms} ms): "
            f"{message}",
        )
    if state == "55P03":  # lock_not_available
        return InspectorError(
            Problem.TIMEOUT,
            f"waited {timeouts.lock_ms} ms for a lock another session holds (lock_timeout); "
            f"the overview lists waiting locks: {message}",
        )
    if state == "25P03":  # idle_in_transaction_session_timeout
        return InspectorError(Problem.TIMEOUT, message)
    if state in READ_ONLY_STATES:
        return InspectorError(
            Problem.REFUSED_QUERY,
            f"envdeck's query box is read-only (PostgreSQL refused: {message})",
        )
    if state in GONE_STATES or state.startswith("08"):  # 08: connection exceptions
        return InspectorError(
            Problem.DOWN,
            f"PostgreSQL at {settings.host}:{settings.port} went away: {message}",
        )
    if state.startswith("28"):  # invalid authorization
        return _auth_error(message, settings)
    return InspectorError(Problem.ERROR, message)


def server_message(error: psycopg.Error) -> str:
    """The server's message on one line, with its detail and hint when it sent them."""
    diag = error.diag
    parts = [diag.message_primary or str(error).strip()]
    parts += [part for part in (diag.message_detail, diag.message_hint) if part]
    return " — ".join(" ".join(part.split()) for part in parts)


def libpq_reason(text: str) -> str:
    """`password authentication failed for user "x"` out of libpq's
    `connection failed: connection to server at "h", port p failed: FATAL:  ...`."""
    first = text.strip().splitlines()[0] if text.strip() else text
    reason = first.rsplit("failed: ", 1)[-1]
    for prefix in ("FATAL:", "ERROR:"):
        reason = reason.removeprefix(prefix)
    return reason.strip() or first
