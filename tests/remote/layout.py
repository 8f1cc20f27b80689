"""Where the second engine lives: one place for every name, address, port and path.

Fixed, not per run: one harness per machine, and a developer's shell (`env`, `cut`,
`down`) finds the one a test session started, and the other way round.
"""

from __future__ import annotations

from pathlib import Path

NAME = "envdeck-remote"
NETNS = NAME  # `ip netns` name; its handle is /run/netns/envdeck-remote
NETNS_PATH = Path("/run/netns") / NETNS

# A veth pair: the host keeps one end, the namespace gets the other. /30: only these two.
HOST_LINK = "envdeck-rh"
REMOTE_LINK = "envdeck-rn"
HOST_ADDRESS = "10.213.0.1"
ADDRESS = "10.213.0.2"
PREFIX = 30
# The slow link's tun pair (slow_link.py); they exist only while a delay is set.
HOST_SLOW_LINK = "envdeck-sh"
REMOTE_SLOW_LINK = "envdeck-sn"

# The second engine's default bridge: not docker0's 172.17/16, so logs never confuse them.
BRIDGE_CIDR = "10.214.0.1/24"

TCP_PORT = 2375  # plain HTTP, relayed to the unix socket (dockerd's TLS is all-or-nothing)
TLS_PORT = 2376  # dockerd's own TLS listener, client certificates required
SSH_PORT = 22
SSH_HOST_ALIAS = NAME

# Runtime state: a tmpfs, so a machine restart forgets processes and their pid files.
# Kept short: dockerd puts a 69-character socket name in its exec root (108 is the limit).
RUN_DIR = Path("/run") / NAME
EXEC_ROOT = RUN_DIR / "exec"
SOCKET = RUN_DIR / "docker.sock"
LOG_DIR = RUN_DIR / "logs"
CERT_DIR = RUN_DIR / "client-certs"  # ca.pem, cert.pem, key.pem: DOCKER_CERT_PATH
SERVER_CERT_DIR = RUN_DIR / "server-certs"
SSH_DIR = RUN_DIR / "ssh"
SSH_PATH_DIR = SSH_DIR / "bin"  # holds the `ssh` wrapper tests put first on PATH
NS_DIR = RUN_DIR / "ns"  # the remote's mount and UTS namespaces stay while bound here
MOUNT_NS = NS_DIR / "mnt"
UTS_NS = NS_DIR / "uts"  # its own host name: `docker info` names another machine
STATE_FILE = RUN_DIR / "state.json"
DAEMON_CONFIG = RUN_DIR / "daemon.json"
DOCKERD_PIDFILE = RUN_DIR / "dockerd.pid"
RELAY_PIDFILE = RUN_DIR / "tcp-relay.pid"
SSHD_PIDFILE = SSH_DIR / "sshd.pid"
SLOW_LINK_PIDFILE = RUN_DIR / "slow-link.pid"
# The remote's own CLI config: a `docker context use` here must not steer dial-stdio there.
REMOTE_DOCKER_CONFIG = RUN_DIR / "remote-docker-config"

# Survives between runs on one machine as a cache of loaded images; never relied on.
DATA_DIR = Path("/var/lib") / NAME
DATA_ROOT = DATA_DIR / "docker"
ENGINE_KEY = DATA_DIR / "key.json"  # the engine's identity (`docker info` ID), not the first's

UNIX_URL = f"unix://{SOCKET}"
TCP_URL = f"tcp://{ADDRESS}:{TCP_PORT}"
TLS_URL = f"tcp://{ADDRESS}:{TLS_PORT}"
SSH_URL = f"ssh://{SSH_HOST_ALIAS}"

# What the sample stack's offline compose file runs (compose/compose.offline.yaml).
SAMPLE_IMAGES = ("envdeck-base:bookworm", "envdeck-qdrant-standin:bookworm")
# Its containers' cgroups: /envdeck-remote/<id>, apart from the first engine's /docker/<id>.
CGROUP_PARENT = NAME

REPO = Path(__file__).resolve().parents[2]  # this checkout, where the harness's helpers run
