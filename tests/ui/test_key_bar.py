"""The key bar: what it shows, and that a click presses the key under it."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui.ui.widgets.key_bar import KeyBar


class Pane(Static, can_focus=True):
    BINDINGS = [Binding("x", "app.mark('x')", "Extra")]


class KeysApp(App[None]):
    AUTO_FOCUS = None
    BINDINGS = [
        Binding("a", "mark('a')", "Alpha"),
        Binding("b", "mark('b')", "Hidden", show=False),
        Binding("c", "mark('c')", "Closed"),
        Binding("question_mark,f1", "mark('help')", "Help"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[str] = []

    def compose(self) -> ComposeResult:
        yield Pane("pane")
        yield KeyBar()

    def action_mark(self, what: str) -> None:
        self.marks.append(what)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # "Closed" is shown, disabled.
        return None if parameters == ("c",) else True


def bar_text(app: KeysApp) -> str:
    return str(app.query_one(KeyBar).render())


async def test_the_bar_shows_the_shown_bindings_once_each_in_order() -> None:
    app = KeysApp()
    async with app.run_test(size=(80, 5)) as pilot:
        await pilot.pause()
        text = bar_text(app)
        assert text.split() == ["a", "Alpha", "c", "Closed", "?", "Help", "^p", "palette"]
        # The palette's key is drawn at the right edge.
        assert text.rstrip().endswith("^p palette")
        assert len(text) == 80


async def test_a_click_presses_the_key_under_it_and_a_disabled_key_does_nothing() -> None:
    app = KeysApp()
    async with app.run_test(size=(80, 5)) as pilot:
        await pilot.pause()
        bar = app.query_one(KeyBar)
        text = bar_text(app)

        await pilot.click(KeyBar, offset=(text.index("Alpha"), 0))
        await pilot.click(KeyBar, offset=(text.index("Help"), 0))
        await pilot.click(KeyBar, offset=(text.index("Closed"), 0))
        await pilot.click(KeyBar, offset=(text.index("Alpha") + len("Alpha") + 1, 0))
        await pilot.pause()

        assert app.marks == ["a", "help"]
        assert bar.key_at(text.index("Closed")) is not None
        assert not bar.key_at(text.index("Closed")).enabled  # type: ignore[union-attr]


async def test_the_bar_follows_the_focused_widgets_bindings() -> None:
    app = KeysApp()
    async with app.run_test(size=(80, 5)) as pilot:
        await pilot.pause()
        assert "Extra" not in bar_text(app)
        app.query_one(Pane).focus()
        await pilot.pause()
        assert bar_text(app).split()[:2] == ["x", "Extra"]
        await pilot.click(KeyBar, offset=(1, 0))
        assert app.marks == ["x"]
