"""Failure bundles: a self-contained, masked folder per failed test, to hand on.

`writer.py` writes them (the tests screen's key, `envdeck test --bundle DIR`), `reader.py`
reads them back for `envdeck bundle open DIR`; `layout.py` names the files, `scrub.py`
keeps secrets out, `context.py` takes the environment's state, `readme.py` writes what a
person reads first. No Textual here.
"""

from __future__ import annotations

from tui.core.bundle.context import BundleContext, collect_context, context_from
from tui.core.bundle.reader import BundleError, FailureBundle, find_bundles, read_bundle
from tui.core.bundle.writer import (
    DataDiff,
    write_bundle,
    write_bundles,
    write_failure_bundle,
)

__all__ = [
    "BundleContext",
    "BundleError",
    "DataDiff",
    "FailureBundle",
    "collect_context",
    "context_from",
    "find_bundles",
    "read_bundle",
    "write_bundle",
    "write_bundles",
    "write_failure_bundle",
]
