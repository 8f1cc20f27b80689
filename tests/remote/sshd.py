"""The remote's sshd, and the client side a user would have: a key, a host alias.

sshd (Debian's openssh-server, installed when missing) runs in the engine's namespaces
with its own config, host key and authorized key: root, key only. Its sessions get
DOCKER_HOST naming the second engine's socket, so `docker system dial-stdio`, which the
docker CLI, compose and docker-py's ssh client run over there, reaches the second engine
and not the first (the two "machines" share a filesystem but for what is hidden).

The client is the plain `ssh` from PATH, as envdeck and compose run it; a wrapper in
SSH_PATH_DIR gives it our config (`ssh -F`), the way a user's ~/.ssh/config would name
the host `envdeck-remote`.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

from tests.remote import layout
from tests.remote.processes import HarnessError, in_remote, run, say, start_daemon, wait_until

SSHD = Path("/usr/sbin/sshd")
SSH = Path("/usr/bin/ssh")
SSHD_CONFIG = layout.SSH_DIR / "sshd_config"
SSH_CONFIG = layout.SSH_DIR / "ssh_config"
HOST_KEY = layout.SSH_DIR / "host_key"
CLIENT_KEY = layout.SSH_DIR / "client_key"
AUTHORIZED_KEYS = layout.SSH_DIR / "authorized_keys"
KNOWN_HOSTS = layout.SSH_DIR / "known_hosts"
LOG = layout.LOG_DIR / "sshd.log"
REMOTE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
POLICY_RC = Path("/usr/sbin/policy-rc.d")
PACKAGES = {SSHD: "openssh-server", SSH: "openssh-client", Path("/usr/bin/openssl"): "openssl"}


def ensure_installed() -> None:
    """openssh-server, openssh-client and openssl from Debian when missing, without
    starting the machine's own sshd (a policy-rc.d that says no, for the install only,
    when there is none)."""
    packages = [package for program, package in PACKAGES.items() if not program.exists()]
    if not packages:
        return
    if shutil.which("apt-get") is None:
        raise HarnessError(f"the second engine needs {', '.join(packages)}; install them")
    say(f"installing {', '.join(packages)} (Debian) for the second engine")
    added_policy = not POLICY_RC.exists()
    if added_policy:
        POLICY_RC.write_text("#!/bin/sh\n# envdeck tests/remote: no service starts\nexit 101\n")
        POLICY_RC.chmod(0o755)
    try:
        install = ["apt-get", "install", "-y", "-qq", *packages]
        quiet = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if run(install, timeout=300, check=False, env=quiet).returncode != 0:
            run(["apt-get", "update", "-qq"], timeout=300, env=quiet)
            run(install, timeout=300, env=quiet)
    finally:
        if added_policy:
            POLICY_RC.unlink()


def prepare() -> None:
    """Keys, both configs and the `ssh` wrapper, made anew."""
    layout.SSH_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    layout.SSH_PATH_DIR.mkdir(exist_ok=True)
    layout.REMOTE_DOCKER_CONFIG.mkdir(parents=True, exist_ok=True)
    for key in (HOST_KEY, CLIENT_KEY):
        for old in (key, key.with_suffix(".pub")):
            old.unlink(missing_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key.name, "-f", key])
    AUTHORIZED_KEYS.write_text(CLIENT_KEY.with_suffix(".pub").read_text())
    AUTHORIZED_KEYS.chmod(0o600)
    KNOWN_HOSTS.write_text("")
    SSHD_CONFIG.write_text(
        f"ListenAddress {layout.ADDRESS}:{layout.SSH_PORT}\n"
        f"HostKey {HOST_KEY}\n"
        f"PidFile {layout.SSHD_PIDFILE}\n"
        f"AuthorizedKeysFile {AUTHORIZED_KEYS}\n"
        "PermitRootLogin prohibit-password\n"
        "PubkeyAuthentication yes\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        # envdeck's tunnels to published ports (-L), to the remote's 127.0.0.1 included.
        "AllowTcpForwarding yes\n"
        "AllowStreamLocalForwarding yes\n"
        f"SetEnv DOCKER_HOST={layout.UNIX_URL} DOCKER_CONFIG={layout.REMOTE_DOCKER_CONFIG}"
        f" PATH={REMOTE_PATH}\n"
        "Subsystem sftp /usr/lib/openssh/sftp-server\n"
        "LogLevel VERBOSE\n"
    )
    # What a user's ~/.ssh/config would say; nothing of this machine's ssh config applies.
    SSH_CONFIG.write_text(
        f"Host {layout.SSH_HOST_ALIAS}\n"
        f"    HostName {layout.ADDRESS}\n"
        f"    Port {layout.SSH_PORT}\n"
        "    User root\n"
        f"    IdentityFile {CLIENT_KEY}\n"
        "    IdentitiesOnly yes\n"
        f"    UserKnownHostsFile {KNOWN_HOSTS}\n"
        "    GlobalKnownHostsFile /dev/null\n"
        "    StrictHostKeyChecking accept-new\n"
        "    BatchMode yes\n"
        "    ControlMaster no\n"
    )
    wrapper = layout.SSH_PATH_DIR / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec {SSH} -F {SSH_CONFIG} "$@"\n')
    wrapper.chmod(0o755)
    # sshd, even its config test, wants its privilege-separation folder; on a machine
    # without systemd nothing makes it when openssh-server is installed (a fresh CI box).
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    run([SSHD, "-t", "-f", SSHD_CONFIG])


def start() -> None:
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # see above; /run may be new since
    sshd = start_daemon(in_remote([SSHD, "-D", "-e", "-f", SSHD_CONFIG]), log=LOG)
    wait_until(answers, timeout=15, what="the remote's sshd", log=LOG, process=sshd)


def answers() -> bool:
    """sshd's banner on its port."""
    try:
        with socket.create_connection((layout.ADDRESS, layout.SSH_PORT), timeout=1) as connection:
            return connection.recv(8).startswith(b"SSH-")
    except OSError:
        return False


def remote_command(*command: str, timeout: float = 30) -> str:
    """Run a command over there through the wrapper, as a user's `ssh envdeck-remote` would."""
    result = run([layout.SSH_PATH_DIR / "ssh", layout.SSH_HOST_ALIAS, *command], timeout=timeout)
    return result.stdout
