"""The harness's own tests use the same session fixture the remote-engine tests do."""

from tests.remote.engine import second_engine

__all__ = ["second_engine"]
