"""The gateway's listing while a project's containers are being removed (a `down` under
way, from envdeck or from another terminal): docker-py lists, then inspects each, and a
container removed between the two is gone, not an error. CI met it: the guard's test,
polling the listing during `down -v`, saw two containers go one after the other, so a
second listing after the first 404 met another."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from tests.integration.throwaway_containers import new_project, run_service
from tui.core.engine import DockerGateway


def test_containers_removed_between_list_and_inspect_are_left_out(
    gateway: DockerGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = new_project("listing")
    kept = run_service(gateway, project, "kept", ["sleep", "60"])
    going = [run_service(gateway, project, f"going{n}", ["sleep", "60"]) for n in (1, 2)]
    try:
        api = gateway.client.api
        real_inspect = api.inspect_container
        to_remove = {container.id for container in going}

        def removed_first(container_id: Any) -> Any:
            # The engine really removes it, just before docker-py's inspect asks for it;
            # one per listing, as a `down` removes them one after the other.
            if container_id in to_remove:
                to_remove.discard(container_id)
                api.remove_container(container_id, force=True)
            return real_inspect(container_id)

        monkeypatch.setattr(api, "inspect_container", removed_first)
        listed = gateway.project_containers(project)
        assert [container.name for container in listed] == [kept.name]
        assert not to_remove  # both went while listed
    finally:
        monkeypatch.undo()
        for container in (kept, *going):
            with contextlib.suppress(Exception):  # the test removed it already
                container.remove(force=True)
