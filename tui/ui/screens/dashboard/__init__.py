"""The dashboard: the project's services, live.

One screen, written in parts that each keep one concern:

- `bindings`: every key of the screen, with its id (the help screen and the palette list
  them; a new key is one line there and one `action_` method in a part);
- `header`: the line at the top (project, engine, readiness, and any named item a feature
  adds with `DashboardHeader.set_item`);
- `live`: the services table kept current from Docker's events, the slow re-list, stats;
- `logs`: the log follower of the selected service (or of all of them);
- `inspector`: the Inspect tab and the plugins' actions;
- `actions`: restart, stop, start, up, down and shell;
- `screen`: the screen itself, which composes the widgets and the parts.
"""

from tui.ui.screens.dashboard.header import DashboardHeader, summary_line
from tui.ui.screens.dashboard.screen import DashboardScreen

__all__ = ["DashboardHeader", "DashboardScreen", "summary_line"]
