"""What envdeck reads without docker-py (issue 17) reads as docker-py reads it."""

from __future__ import annotations

from pathlib import Path

import pytest
from docker.context.config import get_current_context_name

from tui.core.engine_choice import _current_context
from tui.core.engine_http import _json_stream

CONFIGS = {
    "named": '{"currentContext": "box"}',
    "empty name": '{"currentContext": ""}',
    "no key": '{"auths": {}}',
    "not json": "{currentContext: box",
    "a list": '["box"]',
    "null name": '{"currentContext": null}',
}


@pytest.mark.parametrize("where", ["DOCKER_CONFIG", "home", "legacy", "nowhere"])
@pytest.mark.parametrize("text", list(CONFIGS.values()), ids=list(CONFIGS))
def test_the_current_context_is_read_as_docker_py_reads_it(
    where: str, text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, config = tmp_path / "home", tmp_path / "config"
    (home / ".docker").mkdir(parents=True)
    config.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    if where == "DOCKER_CONFIG":
        monkeypatch.setenv("DOCKER_CONFIG", str(config))
        (config / "config.json").write_text(text)
        (home / ".docker" / "config.json").write_text('{"currentContext": "other"}')
    elif where == "home":
        (home / ".docker" / "config.json").write_text(text)
    elif where == "legacy":
        (home / ".dockercfg").write_text(text)
    assert _current_context() == (get_current_context_name() or "default")


def test_an_event_stream_is_every_document_in_it() -> None:
    text = '{"Action": "kill", "timeNano": 1}\n{"Action": "die"}\n\n{"Action":"x"}{"a": 1}\n'
    assert [event.get("Action") for event in _json_stream(text)] == ["kill", "die", "x", None]
    assert _json_stream("") == []
    assert _json_stream('{"Action": "kill"}\n{"Act') == [{"Action": "kill"}]  # cut: kept
    assert _json_stream('[1]\n{"Action": "kill"}') == [{"Action": "kill"}]  # not an event
