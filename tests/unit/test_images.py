"""Which images a Dockerfile's build pulls in (the recreation proof asks for each)."""

from __future__ import annotations

from tui.core.images import base_images


def test_base_images_skip_stages_scratch_and_arg_references() -> None:
    dockerfile = """\
ARG BASE=debian:12
FROM python:3.12-slim AS build
RUN make
from --platform=$BUILDPLATFORM debian:12 as tools
FROM build
FROM scratch
FROM ${BASE}
FROM tools AS final
"""
    assert base_images(dockerfile) == ["python:3.12-slim", "debian:12"]


def test_a_dockerfile_with_no_from_needs_no_image() -> None:
    assert base_images("# empty\n") == []
