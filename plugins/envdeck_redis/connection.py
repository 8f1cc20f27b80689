"""Reaching the service's Redis, and turning every failure into a plain InspectorError."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from redis.backoff import NoBackoff
from redis.exceptions import (
    AuthenticationError,
    NoPermissionError,
    ReadOnlyError,
    RedisError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from tui.plugins.api import InspectorError, Problem, ServiceTarget

REDIS_PORT = 6379
CLIENT_NAME = "envdeck"  # how envdeck's connections show in CLIENT LIST and the slow log


@dataclass(frozen=True)
class RedisSettings:
    service: str
    host: str
    port: int
    db: int
    timeout: float
    password: str | None = None
    username: str | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


Connect = Callable[[RedisSettings], redis.Redis]


def settings_for(target: ServiceTarget) -> RedisSettings:
    """Where and how to connect, from the published port, the config and the env."""
    port = target.published_port(REDIS_PORT)
    db_option = target.options.get("db", 0)
    try:
        db = int(db_option)
    except (TypeError, ValueError):
        raise InspectorError(
            Problem.ERROR,
            f"db in [tool.envdeck.services.{target.service}] must be a number, not {db_option!r}",
        ) from None
    return RedisSettings(
        service=target.service,
        host=target.host,
        port=port,
        db=db,
        timeout=target.timeout,
        password=target.setting("password", "REDIS_PASSWORD") or None,
        username=target.setting("username", "REDIS_USERNAME") or None,
    )


def open_client(
    settings: RedisSettings, client_class: type[redis.Redis] = redis.Redis
) -> redis.Redis:
    """A client that fails fast: no retries, so a dead service answers within `timeout`."""
    return client_class(
        host=settings.host,
        port=settings.port,
        db=settings.db,
        username=settings.username,
        password=settings.password,
        socket_connect_timeout=settings.timeout,
        socket_timeout=settings.timeout,
        retry=Retry(NoBackoff(), 0),
        client_name=CLIENT_NAME,
        protocol=2,  # the replies' shapes below are RESP2's
        decode_responses=False,  # keys and values are bytes; display.py makes them text
    )


@contextmanager
def session(
    target: ServiceTarget, connect: Connect = open_client
) -> Iterator[tuple[redis.Redis, RedisSettings]]:
    """A client for one plugin call, closed after it; its errors made plain."""
    settings = settings_for(target)
    client = connect(settings)
    try:
        yield client, settings
    except RedisError as error:
        raise inspector_error(error, settings) from error
    finally:
        client.close()


def inspector_error(error: RedisError, settings: RedisSettings) -> InspectorError:
    where = f"Redis of {settings.service} at {settings.address}"
    message = str(error)
    config = f"[tool.envdeck.services.{settings.service}]"
    if isinstance(error, AuthenticationError) or message.startswith(("NOAUTH", "WRONGPASS")):
        return InspectorError(Problem.AUTH, _auth_message(message, settings, config))
    if isinstance(error, RedisTimeoutError):
        return InspectorError(
            Problem.TIMEOUT, f"{where} did not answer within {settings.timeout:g} s"
        )
    if isinstance(error, RedisConnectionError):
        if _refused(error):
            return InspectorError(
                Problem.REFUSED,
                f"nothing listens at {settings.address}: is {settings.service} running?",
            )
        return InspectorError(Problem.DOWN, f"{where} is not reachable: {message}")
    if isinstance(error, NoPermissionError):
        return InspectorError(Problem.REFUSED_QUERY, f"Redis refused: {message}")
    if isinstance(error, ReadOnlyError):
        return InspectorError(Problem.REFUSED_QUERY, f"Redis is a read-only replica: {message}")
    if isinstance(error, ResponseError):
        return InspectorError(Problem.ERROR, f"Redis answered with an error: {message}")
    return InspectorError(Problem.ERROR, f"{where}: {message}")


def _auth_message(message: str, settings: RedisSettings, config: str) -> str:
    if "without any password configured" in message or "no password is set" in message:
        return f"Redis asks for no password, but one is set: remove password from {config}"
    if settings.password is None:
        return f"Redis asks for a password: set password in {config}"
    return f"Redis rejected the password: check password in {config} (or REDIS_PASSWORD)"


def _refused(error: RedisConnectionError) -> bool:
    # redis-py raises its ConnectionError inside `except OSError`, so the cause is the
    # context; the message is the fallback for wrappers that lose it.
    return isinstance(error.__context__, ConnectionRefusedError) or "refused" in str(error)
