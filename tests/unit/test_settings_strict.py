"""The configuration refuses what it does not know, in the file's own words, and
envdeck.toml takes the same table as `[tool.envdeck]`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from envdeck_postgres.connection import ConnectionSettings
from envdeck_redis.connection import settings_for
from tests.conftest import REPO
from tui.config.keymap import APP_SCOPE, KeyCatalogue, KnownBinding, keymap_problems
from tui.config.settings import ConfigError, ServiceSettings, load_settings
from tui.core.compose_model import ServiceSpec
from tui.core.plugin_registry import build_target


def test_a_misspelt_service_key_is_an_error_naming_the_service_the_key_and_the_fix(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.envdeck.services.db]\nprotect = true\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path)
    message = str(raised.value)
    assert "[tool.envdeck.services.db] has no key `protect`" in message
    assert "did you mean `protected`?" in message


def test_envdeck_toml_names_the_table_as_written_there(tmp_path: Path) -> None:
    (tmp_path / "envdeck.toml").write_text(
        '[services.redis-test]\nprotekted = true\n[services."my db"]\nprotect = true\n'
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path)
    assert "[services.redis-test] has no key `protekted`" in str(raised.value)
    assert '[services."my db"] has no key `protect`' in str(raised.value)


def test_a_misspelt_key_from_the_environment_is_refused_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVDECK_SERVICES", '{"cache": {"pasword": "x"}}')
    with pytest.raises(ConfigError, match="did you mean `password`"):
        load_settings(tmp_path)


def test_a_key_far_from_any_lists_what_the_table_takes(tmp_path: Path) -> None:
    (tmp_path / "envdeck.toml").write_text("[services.db]\nzzz = 1\n")
    with pytest.raises(ConfigError, match=r"has no key `zzz` \(it takes .*protected"):
        load_settings(tmp_path)


def test_service_settings_are_typed(tmp_path: Path) -> None:
    (tmp_path / "envdeck.toml").write_text(
        '[services.db]\nprotected = true\none_shot = false\n[services.web]\nport = "x"\n'
    )
    with pytest.raises(ConfigError, match=r"services\.web\.port"):
        load_settings(tmp_path)
    (tmp_path / "envdeck.toml").write_text(
        "[services.db]\nprotected = true\nport = 15432\n[services.migrate]\none_shot = true\n"
    )
    settings = load_settings(tmp_path)
    assert settings.service("db") == ServiceSettings(protected=True, port=15432)
    assert settings.service("migrate").one_shot is True
    assert settings.service("not-configured") == ServiceSettings()


def test_envdeck_toml_takes_the_tool_envdeck_table_too(tmp_path: Path) -> None:
    (tmp_path / "envdeck.toml").write_text(
        '[tool.envdeck]\ncompose_files = ["stack/compose.yaml"]\nproject_name = "copied"\n'
        "[tool.envdeck.services.db]\nprotected = true\n"
    )
    settings = load_settings(tmp_path)
    assert settings.project_name == "copied"
    assert settings.compose_files == [tmp_path / "stack" / "compose.yaml"]
    assert settings.service("db").protected


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[tool.ruff]\nline-length = 99\n", r"top level .* or under \[tool\.envdeck\]"),
        (
            'project_name = "a"\n[tool.envdeck]\nup_timeout = 5\n',
            r"both under \[tool\.envdeck\] and at the top level \(project_name\)",
        ),
        ('project_name = "unterminated\n', "cannot read"),
    ],
)
def test_envdeck_toml_says_what_it_expects(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "envdeck.toml").write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path)


def spec(name: str, image: str) -> ServiceSpec:
    return ServiceSpec(
        name=name,
        image=image,
        ports=(),
        healthcheck=None,
        depends_on=(),
        profiles=(),
        environment={},
        restart=None,
        labels={},
    )


def test_the_documented_credentials_reach_the_plugins(tmp_path: Path) -> None:
    """README's `user`/`database` reach PostgreSQL (it reads libpq's `dbname`) and `user`
    reaches Redis (it reads `username`)."""
    (tmp_path / "envdeck.toml").write_text(
        '[services.db]\nuser = "app"\npassword = "pw"\ndatabase = "appdb"\nport = 15432\n'
        '[services.cache]\nuser = "reader"\npassword = "rpw"\ndb = 2\nport = 16379\n'
    )
    settings = load_settings(tmp_path)
    db = build_target(spec("db", "postgres:16"), None, settings.service("db").plugin_options())
    postgres = ConnectionSettings.from_target(db)
    assert (postgres.user, postgres.password, postgres.dbname, postgres.port) == (
        "app",
        "pw",
        "appdb",
        15432,
    )
    cache = build_target(spec("cache", "redis:7"), None, settings.service("cache").plugin_options())
    redis = settings_for(cache)
    assert (redis.username, redis.password, redis.db, redis.port) == ("reader", "rpw", 2, 16379)


def test_third_party_plugin_settings_pass_through_their_own_table(tmp_path: Path) -> None:
    (tmp_path / "envdeck.toml").write_text(
        '[services.search]\nplugin = "elastic"\noptions = { index = "docs" }\n'
    )
    options = load_settings(tmp_path).service("search").plugin_options()
    assert options == {"index": "docs", "plugin": "elastic", "protected": False}


def test_secrets_stay_out_of_the_settings_repr() -> None:
    assert "hunter2" not in repr(ServiceSettings(password="hunter2", api_key="hunter2"))


# ---------------------------------------------------------------- keymap

KEYS = KeyCatalogue(
    (
        KnownBinding(APP_SCOPE, "q", "quit", "Quit", "app.quit"),
        KnownBinding("Dashboard", "r", "restart", "Restart", "dash.restart", under_app=True),
        KnownBinding("Dashboard", "s", "stop", "Stop", "dash.stop", under_app=True),
        KnownBinding("Dashboard", "?", "help", "Help", "dash.help", under_app=True),
        KnownBinding("Dashboard", "f1", "help", "Help", "dash.help", under_app=True),
        KnownBinding("Logs", "r", "reload", "Reload", "logs.reload"),
        KnownBinding("Logs", "enter", "select", "", None),
    ),
    canonical=lambda key: {"question_mark": "?"}.get(key.strip(), key.strip()),
)


def problems(keymap: dict[str, str]) -> list[str]:
    return [str(problem) for problem in keymap_problems(keymap, KEYS)]


def test_an_unknown_id_is_named_with_the_nearest_known_one() -> None:
    assert problems({"dash.restrat": "x"}) == [
        "keymap: no key has the id `dash.restrat`, so it changes nothing: "
        "did you mean `dash.restart`?"
    ]
    assert problems({"zzz": "x"})[0].endswith("use an id listed on the ? screen")


def test_a_key_given_two_actions_in_one_place_is_named_with_both() -> None:
    assert problems({"dash.restart": "s"}) == [
        "keymap: `s` in Dashboard would be both Restart (dash.restart) and Stop (dash.stop): "
        "give one of them another key in [tool.envdeck.keymap]"
    ]
    both = problems({"dash.restart": "x", "dash.stop": "x"})
    assert len(both) == 1
    assert "`x` in Dashboard" in both[0]
    # The app's keys are active on every screen; a widget's own, unnamed keys count too.
    assert "Quit (app.quit) and Stop (dash.stop)" in problems({"dash.stop": "q"})[0]
    assert "(not remappable)" in problems({"logs.reload": "enter"})[0]


def test_what_is_no_clash_is_not_reported() -> None:
    assert problems({}) == []
    assert problems({"dash.restart": "R", "dash.stop": "r"}) == []  # a swap
    assert problems({"dash.help": "question_mark,f1"}) == []  # its own keys, respelt
    assert problems({"logs.reload": "r"}) == []  # r restarts on the dashboard: another place
    assert problems({"dash.restart": "ctrl+r"}) == []


def test_the_catalogue_finds_every_binding_id_the_ui_declares() -> None:
    """Every `id="..."` given to a Binding under tui/ui is known to the checks."""
    from tui.ui.keymap import key_catalogue

    declared = set()
    for source in (REPO / "tui" / "ui").rglob("*.py"):
        declared |= set(re.findall(r'Binding\([^)]*\bid="([^"]+)"', source.read_text(), re.S))
    assert declared
    assert declared <= key_catalogue().ids
