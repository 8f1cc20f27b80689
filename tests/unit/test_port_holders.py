"""What envdeck says of a port another holds (tui.core.port_holders), hostile labels too."""

from __future__ import annotations

from tui.core.compose_model import PortSpec
from tui.core.port_holders import PortConflict, probe_address

PORT = PortSpec(container_port=5432, host_port=15432, host_ip="127.0.0.1", protocol="tcp")


def test_a_container_of_another_project_is_named_with_the_way_out() -> None:
    conflict = PortConflict("db", PORT, "shop-postgres-1", "shop", "postgres")
    assert str(conflict) == (
        "db: port 127.0.0.1:15432 is taken by container shop-postgres-1 "
        "(compose project shop, service postgres)"
    )
    assert conflict.fix == (
        "stop the other project (`docker compose -p shop stop`), "
        'or publish db on another port ("127.0.0.1:OTHER:5432")'
    )


def test_a_container_without_a_project_and_a_process_here() -> None:
    assert "container lonely-pg" in str(PortConflict("db", PORT, "lonely-pg"))
    assert "(`docker stop lonely-pg`)" in PortConflict("db", PORT, "lonely-pg").fix
    assert str(PortConflict("db", PORT)).endswith("taken by another process on this machine")
    assert PortConflict("db", PORT).fix.startswith("stop that process, or publish db")


def test_hostile_labels_reach_neither_the_terminal_nor_the_shell_as_code() -> None:
    conflict = PortConflict("db", PORT, "pg", "x\x1b]0;owned\x07; rm -rf ~", "\x1b[2Jsvc")
    said = str(conflict) + conflict.fix
    assert "\x1b" not in said
    assert "\x07" not in said
    assert "`docker compose -p 'x␛]0;owned␇; rm -rf ~' stop`" in conflict.fix


def test_the_probe_looks_where_the_engine_would_publish() -> None:
    assert probe_address("0.0.0.0") == "127.0.0.1"  # noqa: S104 - every interface
    assert probe_address("") == "127.0.0.1"
    assert probe_address("::") == "127.0.0.1"
    assert probe_address("127.0.0.2") == "127.0.0.2"  # a listener on 127.0.0.1 does not
