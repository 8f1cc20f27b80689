"""The inspector of the selected service: pick a view, type a query, page, act."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Select, Static

from tui.core.text import safe_text
from tui.plugins.api import Table, View, ViewResult
from tui.ui.safe import safe_label
from tui.ui.widgets.sections_view import SectionsView


@dataclass(frozen=True)
class InspectQuery:
    service: str
    view: str
    query: str
    cursor: str | None


class InspectorPane(Vertical):
    BINDINGS = [
        Binding("ctrl+r", "reload", "Reload", id="inspector.reload"),
        Binding("right_square_bracket", "next_page", "Next page", id="inspector.next_page"),
        Binding("left_square_bracket", "first_page", "First page", id="inspector.first_page"),
        Binding("A", "choose_action", "Plugin actions", id="inspector.actions"),
    ]

    class Requested(Message):
        """Load this view (the screen does the blocking work)."""

        def __init__(self, query: InspectQuery) -> None:
            super().__init__()
            self.query = query

    class ActionRequested(Message):
        def __init__(self, service: str) -> None:
            super().__init__()
            self.service = service

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.service: str | None = None
        self.views: tuple[View, ...] = ()
        self.cursor: str | None = None
        self.next_cursor: str | None = None
        self.page = 1
        self.header_title = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="inspector-header")
        with Horizontal(id="inspector-controls"):
            yield Select[str]([], id="inspector-view", prompt="view")
            yield Input(placeholder="pattern, table or SQL", id="inspector-query")
        yield SectionsView(id="inspector-sections")

    # -------------------------------------------------------------- attributes down

    def set_service(self, service: str | None, plugin_title: str, views: tuple[View, ...]) -> None:
        changed = service != self.service
        self.service = service
        self.views = views
        self.header_title = f"{service or '-'} · {plugin_title}"
        self.query_one("#inspector-header", Static).update(safe_label(self.header_title))
        if changed:
            select = self.query_one("#inspector-view", Select)
            with self.prevent(Select.Changed):
                select.set_options([(safe_label(view.title), view.id) for view in views])
                if views:
                    select.value = views[0].id
            self.query_one("#inspector-query", Input).value = ""
            self._update_query_box()
            self.cursor, self.page = None, 1

    def show_result(self, result: ViewResult) -> None:
        self.next_cursor = result.next_cursor
        self.query_one(SectionsView).show_sections(result.sections)
        self._update_footer_note(result)

    def show_problem(self, message: str) -> None:
        self.next_cursor = None
        self.query_one(SectionsView).show_message(message, error=True)

    def _update_footer_note(self, result: ViewResult) -> None:
        tables = [s for s in result.sections if isinstance(s, Table)]
        rows = f" · {sum(len(t.rows) for t in tables)} rows" if tables else ""
        more = " · ] next page" if result.next_cursor else ""
        page = f" · page {self.page}" if self.page > 1 or result.next_cursor else ""
        self.query_one("#inspector-header", Static).update(
            safe_label(f"{self.header_title}{page}{rows}{more}")
        )

    # -------------------------------------------------------------- messages up

    @property
    def current_view(self) -> View | None:
        value = self.query_one("#inspector-view", Select).value
        return next((view for view in self.views if view.id == value), None)

    def request(self) -> None:
        view = self.current_view
        if self.service is None or view is None:
            return
        query = self.query_one("#inspector-query", Input).value
        self.post_message(self.Requested(InspectQuery(self.service, view.id, query, self.cursor)))

    def _update_query_box(self) -> None:
        view = self.current_view
        box = self.query_one("#inspector-query", Input)
        box.display = bool(view and view.takes_query)
        if view and view.query_hint:
            box.placeholder = safe_text(view.query_hint)  # shown as Text: no markup

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._update_query_box()
        self.cursor, self.page = None, 1
        self.request()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.cursor, self.page = None, 1
        self.request()

    def action_reload(self) -> None:
        self.request()

    def action_next_page(self) -> None:
        if self.next_cursor:
            self.cursor, self.page = self.next_cursor, self.page + 1
            self.request()

    def action_first_page(self) -> None:
        self.cursor, self.page = None, 1
        self.request()

    def action_choose_action(self) -> None:
        if self.service:
            self.post_message(self.ActionRequested(self.service))
