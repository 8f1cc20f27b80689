"""The bundled sample environment: where it is, and the settings `envdeck demo` runs it with.

Its settings live in one file, envdeck.toml beside its compose files (compose/ in a
checkout, tui/sample_env in the wheel), which the repository root's pyproject.toml
extends too: the demo and a command run in the checkout see the same environment.
"""

from __future__ import annotations

from pathlib import Path

from tui.config.settings import EnvdeckSettings, settings_of_file
from tui.core.compose_cli import ComposeError

SAMPLE_CONFIG = "envdeck.toml"


def sample_environment_dir() -> Path:
    """The bundled sample environment: in the wheel, or beside tui/ in a checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "sample_env", package.parent / "compose"):
        if (candidate / "compose.yaml").is_file() and (candidate / SAMPLE_CONFIG).is_file():
            return candidate
    raise ComposeError("the bundled sample environment is missing from this installation")


def sample_settings(base: EnvdeckSettings) -> EnvdeckSettings:
    """`base` pointed at the bundled sample environment: every key its envdeck.toml sets
    comes from there, and compose picks its project's name and folder."""
    folder = sample_environment_dir()
    sample, keys = settings_of_file(folder / SAMPLE_CONFIG)
    changes = {
        "project_dir": None,
        "project_name": None,
        **{key: getattr(sample, key) for key in keys},
        "config_dir": folder,
    }
    return base.replace(**changes)
