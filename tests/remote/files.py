"""What the second engine's "machine" sees of the filesystem, and its host name.

dockerd and sshd run in a mount namespace of their own, with this checkout and the temp
folder (where tests put their projects) hidden under empty tmpfs mounts: a real remote
machine has neither, so a compose file's bind mount of a local file must not work there
either (docker creates an empty folder in its place, as it would over there). `share()`
lifts the hiding for containers created afterwards; `hide()` puts it back.

The rest is shared: the harness's run folder (sockets, keys) and the engine's data root.
"""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path

from tests.remote import layout
from tests.remote.processes import run

HIDING_SOURCE = "envdeck-remote-hidden"  # the tmpfs's name in the mount table


def create_namespaces() -> None:
    """The mount and UTS namespaces, files hidden. A namespace lives on while a file is
    bound to it, and that file must sit on a private mount (the recipe in unshare(1)).
    Slave propagation: mounts made here still show over there (the first engine's
    containers' included); the remote's own (its containers', the hiding) stay there."""
    layout.NS_DIR.mkdir(parents=True, exist_ok=True)
    run(["mount", "--bind", layout.NS_DIR, layout.NS_DIR])
    run(["mount", "--make-private", layout.NS_DIR])
    for handle in (layout.MOUNT_NS, layout.UTS_NS):
        handle.touch()
    run(
        [
            *("unshare", f"--mount={layout.MOUNT_NS}", f"--uts={layout.UTS_NS}"),
            *("--propagation", "slave", "hostname", layout.NAME),
        ]
    )
    hide()


def delete_namespaces() -> None:
    """Unbind them; they go when their last process has gone too."""
    for mount in (layout.MOUNT_NS, layout.UTS_NS, layout.NS_DIR):
        while mounted(mount):
            run(["umount", mount])


def exist() -> bool:
    return mounted(layout.MOUNT_NS)


def folders_to_hide() -> list[Path]:
    """This checkout and the temp folder, each once (not one inside the other)."""
    folders: list[Path] = []
    candidates = {layout.REPO, Path(tempfile.gettempdir()).resolve()}
    for folder in sorted(candidates, key=lambda path: len(path.parts)):
        if folder != Path("/") and not any(folder.is_relative_to(done) for done in folders):
            folders.append(folder)
    return folders


def hide() -> None:
    """The checkout and the temp folder empty over there (for what starts from now on)."""
    hidden = hidden_folders()
    for folder in folders_to_hide():
        if folder not in hidden:
            _in_mount_namespace(
                f"mount -t tmpfs -o mode=755,size=16m {HIDING_SOURCE} {shlex.quote(str(folder))}"
            )


def share() -> None:
    """This machine's files visible over there too (for what starts from now on)."""
    for folder in hidden_folders():
        # Lazy: an ssh session may still be sitting in the empty folder.
        _in_mount_namespace(f"umount --lazy {shlex.quote(str(folder))}")


def hidden_folders() -> list[Path]:
    table = _in_mount_namespace("cat /proc/self/mountinfo")
    hidden = []
    for line in table.splitlines():
        fields, _, filesystem = line.partition(" - ")
        if filesystem.split()[1:2] == [HIDING_SOURCE]:
            hidden.append(Path(fields.split()[4]))
    return hidden


def _in_mount_namespace(script: str) -> str:
    return run(["nsenter", f"--mount={layout.MOUNT_NS}", "sh", "-c", script]).stdout


def mounted(path: Path) -> bool:
    target = str(path)
    with Path("/proc/self/mountinfo").open() as mounts:
        return any(line.split()[4] == target for line in mounts)
