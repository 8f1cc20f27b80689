from __future__ import annotations

import pytest

from tui.core.secrets import MASK, is_secret_name, mask_env_value, mask_inline_secrets


@pytest.mark.parametrize(
    "name",
    [
        "POSTGRES_PASSWORD",
        "DB_PASSWD",
        "AWS_SECRET_ACCESS_KEY",
        "GITHUB_TOKEN",
        "API_KEY",
        "REDIS_PASS",
        "OPENAI_API_KEY",
        "SENTRY_DSN",
        "private_key_pem",
        "SESSION_COOKIE_SALT",
    ],
)
def test_secret_names_are_masked(name: str) -> None:
    assert is_secret_name(name)
    assert mask_env_value(name, "hunter2") == MASK


@pytest.mark.parametrize("name", ["POSTGRES_DB", "POSTGRES_USER", "PATH", "LANG", "PGDATA"])
def test_ordinary_names_are_shown(name: str) -> None:
    assert mask_env_value(name, "value") == "value"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgres://app:s3cr3t@db:5432/x", f"postgres://app:{MASK}@db:5432/x"),
        ("redis://:only-pw@cache:6379/0", f"redis://:{MASK}@cache:6379/0"),
        ("http://example.com/path", "http://example.com/path"),
        ("server --password=hunter2 --port 1", f"server --password={MASK} --port 1"),
        ("server --api-key abc123", f"server --api-key {MASK}"),
        ("redis-server --requirepass hunter2", f"redis-server --requirepass {MASK}"),
        (
            "redis-server --masterauth hunter2 --port 1",
            f"redis-server --masterauth {MASK} --port 1",
        ),
        ("cli --db-password 'x y'", f"cli --db-password {MASK}"),
        ('cli --token="a b" next', f"cli --token={MASK} next"),
    ],
)
def test_inline_secrets(text: str, masked: str) -> None:
    assert mask_inline_secrets(text) == masked


def test_a_url_in_an_ordinary_variable_is_masked_inline() -> None:
    assert mask_env_value("DATABASE_URL", "postgres://u:p@h/db") == f"postgres://u:{MASK}@h/db"
