from __future__ import annotations

import pytest

from tui.core.text import safe_bytes, safe_text, safe_text_lines, unescape_text


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


BIDI_CONTROLS = [chr(code) for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
BIDI_MARKS = ["\u200e", "\u200f", "\u061c"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\u2064", "\ufeff", "\u180e", "\u2028"]
INVISIBLE += ["\u2029", "\ufff9", "\U000e0041"]  # an annotation anchor, a tag character


@pytest.mark.parametrize("char", BIDI_CONTROLS + BIDI_MARKS + INVISIBLE)
def test_bidi_and_invisible_characters_are_shown_by_code_point(char: str) -> None:
    shown = safe_text(f"a{char}b")
    code = ord(char)
    assert shown == (f"a\\u{code:04x}b" if code <= 0xFFFF else f"a\\U{code:08x}b")


def test_trojan_source_name_reads_in_its_stored_order() -> None:
    assert safe_text("invoice\u202egpj.exe") == "invoice\\u202egpj.exe"


def test_c1_is_shown_by_code_point_like_every_character_past_c0() -> None:
    assert safe_text("\x9b31m \x85") == "\\u009b31m \\u0085"


def test_what_stays_is_the_callers_choice_of_c0_whitespace() -> None:
    assert safe_text("a\tb\nc") == "a\tb␊c"
    assert safe_text("a\tb\nc", keep="") == "a␉b␊c"
    assert safe_text("a\tb\nc\r", keep="\t\n") == "a\tb\nc␍"
    assert safe_text("\u202e", keep="\t\n\u202e") == "\\u202e", "only C0 can be kept"


def test_ordinary_text_of_any_script_is_untouched() -> None:
    text = "naïve café ключ 東京 مرحبا שלום 👍🏽 e\u0301 [b]x[/] \\x41 \\u202e"
    assert safe_text(text) == text


def test_lines_from_bytes_follow_the_same_rule() -> None:
    data = "ok\u202eko\nzero\u200bwidth\tx\x1b".encode()
    assert safe_text_lines(data) == ["ok\\u202eko", "zero\\u200bwidth\tx␛"]
    assert safe_bytes(b"x\xe2\x80\xae") == "x\\u202e"


@pytest.mark.parametrize(
    "original",
    ["\x1b[31m\x00\x7f", "a\u202eb\u2066c", "tag\U000e0041", "\x9b", "line\nbreak\ttab", "plain"],
)
def test_unescape_undoes_the_rule(original: str) -> None:
    assert unescape_text(safe_text(original, keep="")) == original
