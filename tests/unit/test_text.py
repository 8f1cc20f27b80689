from __future__ import annotations

import pytest

from tui.core.text import safe_bytes, safe_text


@pytest.mark.parametrize(
    "hostile",
    [
        "\x1b]0;pwned\x07",  # set the window title
        "\x1b]52;c;cGF5bG9hZA==\x07",  # write the clipboard (OSC 52)
        "\x9b31m",  # C1 CSI
        "a\x00b\x7fc\rd\x08",
    ],
)
def test_no_control_character_survives(hostile: str) -> None:
    cleaned = safe_text(hostile)
    assert not any((ord(c) < 0x20 and c != "\t") or 0x7F <= ord(c) <= 0x9F for c in cleaned)


def test_control_characters_stay_visible_and_plain_text_is_untouched() -> None:
    assert safe_text("\x1b[31mred") == "␛[31mred"
    assert safe_text("tab\tand [bold]markup[/] stay") == "tab\tand [bold]markup[/] stay"


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert safe_bytes(b"ok \xff\xfe end") == "ok \ufffd\ufffd end"
