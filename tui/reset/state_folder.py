"""The state folder (`.envdeck` beside the compose file, or `state_dir`) in a user's
repository, made the way pytest makes `.pytest_cache`: it carries a `.gitignore` of `*`
from the moment it exists, so it never shows in `git status` nor goes in with
`git add -A`, and a CACHEDIR.TAG, so backup tools skip its snapshots. It is filled in a
temporary sibling and renamed into place: no one sees the folder without them. A folder
that already exists (a state_dir the user made) is left as it is.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tui.core.ownership import project_directory

if TYPE_CHECKING:
    from tui.config.settings import EnvdeckSettings
    from tui.core.environment import Environment

GITIGNORE = "# Created by envdeck automatically.\n*\n"
CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by envdeck.\n"
    "# For information about cache directory tags, see:\n"
    "#\thttps://bford.info/cachedir/spec.html\n"
)


def ensure_state_folder(root: Path) -> None:
    """`root`, made with its .gitignore and CACHEDIR.TAG when it is not there yet."""
    if root.is_dir():
        return
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp's 0700, made what a mkdir would make
        (staging / ".gitignore").write_text(GITIGNORE)
        (staging / "CACHEDIR.TAG").write_text(CACHEDIR_TAG)
        staging.rename(root)
    except OSError:
        # Another process made the folder first (a rename onto it fails): theirs stands.
        shutil.rmtree(staging, ignore_errors=True)
        if not root.is_dir():
            raise


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def default_state_dir(settings: EnvdeckSettings, environment: Environment) -> Path:
    """The configured state_dir, else .envdeck in the compose project's folder (the same
    folder whichever config or command line reached the project)."""
    return settings.state_dir or project_directory(settings, environment.compose) / ".envdeck"
