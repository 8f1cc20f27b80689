from __future__ import annotations

import pytest

from tui.core.secrets import MASK, is_secret_name, mask_env_value, mask_secrets


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
    assert mask_secrets(text) == masked


def test_a_url_in_an_ordinary_variable_is_masked_inline() -> None:
    assert mask_env_value("DATABASE_URL", "postgres://u:p@h/db") == f"postgres://u:{MASK}@h/db"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # The password runs to the LAST '@' before the host: '@' and '/' are pasted unencoded.
        ("postgres://u:p@ss@h", f"postgres://u:{MASK}@h"),
        ("postgres://u:p@ss@h:5432/db?x=1", f"postgres://u:{MASK}@h:5432/db?x=1"),
        ("redis://:pa/ss@host", f"redis://:{MASK}@host"),
        ("redis://:pa/ss@host:6379/0", f"redis://:{MASK}@host:6379/0"),
        ("nodes=redis://:a@h1,redis://:b@h2", f"nodes=redis://:{MASK}@h1,redis://:{MASK}@h2"),
        ("psql 'postgres://u:p@ss@h/db' -c x", f"psql 'postgres://u:{MASK}@h/db' -c x"),
        # Query parameters whose names look secret.
        ("https://h/x?token=abc123", f"https://h/x?token={MASK}"),
        ("https://h/x?a=1&access_token=abc&b=2", f"https://h/x?a=1&access_token={MASK}&b=2"),
        (
            "https://h/x?api_key=k&apikey=k&sig=s",
            f"https://h/x?api_key={MASK}&apikey={MASK}&sig={MASK}",
        ),
        (
            "s3://b/k?X-Amz-Signature=ab&X-Amz-Date=1",
            f"s3://b/k?X-Amz-Signature={MASK}&X-Amz-Date=1",
        ),
        ("mongodb://h/db?pwd=x&authSource=admin", f"mongodb://h/db?pwd={MASK}&authSource={MASK}"),
        # NAME=VALUE inside commands and env values.
        ("PGPASSWORD=hunter2 psql -h db -U app", f"PGPASSWORD={MASK} psql -h db -U app"),
        (
            "sh -c 'PGPASSWORD=hunter2 pg_isready -h 127.0.0.1'",
            f"sh -c 'PGPASSWORD={MASK} pg_isready -h 127.0.0.1'",
        ),
        ("env AWS_SECRET_ACCESS_KEY=abc aws s3 ls", f"env AWS_SECRET_ACCESS_KEY={MASK} aws s3 ls"),
        ("export DB_PASSWORD='a b'; run", f"export DB_PASSWORD={MASK}; run"),
        ("GITHUB_TOKEN=x&&make", f"GITHUB_TOKEN={MASK}&&make"),
        ("host=h user=u password=secret dbname=x", f"host=h user=u password={MASK} dbname=x"),
        ("java -Ddb.password=x -jar a.jar", f"java -Ddb.password={MASK} -jar a.jar"),
        # Flags: a switch like --no-auth-warning takes no value; a value never starts with '-'.
        ("server --password hunter2", f"server --password {MASK}"),
        ("redis-cli --no-auth-warning -a pw ping", f"redis-cli --no-auth-warning -a {MASK} ping"),
        ("redis-cli -h r -p 6379 -a 'p w' ping", f"redis-cli -h r -p 6379 -a {MASK} ping"),
        ("redis-cli --pass pw ping", f"redis-cli --pass {MASK} ping"),
        ("curl -fsS -u admin:s3cr3t http://h/", f"curl -fsS -u admin:{MASK} http://h/"),
        (
            "curl -H 'Authorization: Bearer ab.cd' http://h",
            f"curl -H 'Authorization: Bearer {MASK}' http://h",
        ),
    ],
)
def test_one_rule_masks_every_form(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "postgres://h:5432/db",
        "postgres://app@db:5432/shop",
        "http://example.com/path?page=2&sort=name",
        "git@github.com:owner/repo.git",
        "plain words, nothing secret: user@host and a:b",
        "psql -h 127.0.0.1 -p 5432 -U app -d shop",  # -p is the port here
        "mysqladmin ping -h localhost",
        "pg_isready -h 127.0.0.1 -U app",
        "redis-server --appendonly yes --port 6379",
        "POSTGRES_DB=shop PATH=/usr/bin",
        "curl -a x http://h/",  # -a means a password for redis-cli only
        "redis-cli ping; ls -a /tmp",
    ],
)
def test_what_is_not_a_secret_is_shown(text: str) -> None:
    assert mask_secrets(text) == text


def test_an_env_value_goes_through_the_same_rule() -> None:
    assert mask_env_value("DATABASE_URL", "postgres://u:p@ss@h") == f"postgres://u:{MASK}@h"
    assert mask_env_value("REDIS_URL", "redis://:pa/ss@host") == f"redis://:{MASK}@host"
    assert mask_env_value("CALLBACK", "https://h/?token=t") == f"https://h/?token={MASK}"
    assert mask_env_value("INIT", "PGPASSWORD=x psql") == f"PGPASSWORD={MASK} psql"


def test_masking_twice_changes_nothing_more() -> None:
    text = "PGPASSWORD=x psql postgres://u:p@ss@h/db?token=t --password y"
    assert mask_secrets(mask_secrets(text)) == mask_secrets(text)


def test_the_unhealthy_toasts_probe_output_is_masked() -> None:
    from tui.core.events import health_log

    attrs = {
        "State": {"Health": {"Log": [{"ExitCode": 1, "Output": "PGPASSWORD=x psql: refused"}]}}
    }
    assert [probe.output for probe in health_log(attrs)] == [f"PGPASSWORD={MASK} psql: refused"]
