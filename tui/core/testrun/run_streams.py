"""Reading a test run's pipes (`runner.py`): the console output into the run's ring and
channel, and each event line parsed, applied to the run's progress and passed on.

A local run has two pipes (output, and our plugin's events); a run in a compose service
has its events framed on stdout among the output (`frames.py`) and its stderr as more
output. A malformed or oversized event is dropped with a warning, never fatal.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import logging

from tui.core.testrun.buffers import EventChannel, LineSplitter, OutputRing
from tui.core.testrun.events import EventFormatError, parse_event
from tui.core.testrun.frames import FrameSplitter
from tui.core.testrun.pipes import READ_BYTES
from tui.core.testrun.progress import RunProgress
from tui.core.testrun.warm_output import PreludeFilter

MAX_EVENT_LINE_BYTES = 64 * 1024 * 1024  # the plugin clips far below this

_log = logging.getLogger(__name__)


class RunStreams:
    """One run's pipes, read into `output` (bytes) and `channel` (text and events);
    `prelude`: a prepared spare's output, whose start is the spare's own (warm_output.py)."""

    def __init__(
        self,
        output: OutputRing,
        channel: EventChannel,
        progress: RunProgress,
        prelude: PreludeFilter | None = None,
    ) -> None:
        self._output_ring = output
        self._channel = channel
        self._progress = progress
        self._prelude = prelude
        self.heard = False  # an event came framed (else compose's words say why it ended)

    async def pump_output(self, stdout: asyncio.StreamReader) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        prelude = self._prelude
        while chunk := await stdout.read(READ_BYTES):
            self._output(chunk if prelude is None else prelude.feed(chunk), decoder)
        self._output(b"" if prelude is None else prelude.end(), decoder, final=True)

    def _output(self, data: bytes, decoder: codecs.IncrementalDecoder, final: bool = False) -> None:
        if data:
            self._output_ring.append(data)
        if text := decoder.decode(data, final=final):
            self._channel.put_output(text)

    async def pump_framed(self, stdout: asyncio.StreamReader, prefix: bytes) -> None:
        """Events and output from one stream (a run in a service): a frame that is not one
        of our events is shown as output, not lost."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        frames = FrameSplitter(prefix, MAX_EVENT_LINE_BYTES)
        while chunk := await stdout.read(READ_BYTES):
            for piece in frames.feed(chunk):
                if piece.is_event and self._receive(piece.data):
                    self.heard = True
                else:
                    self._output(piece.data + b"\n" if piece.is_event else piece.data, decoder)
        for piece in frames.end():
            self._output(piece.data, decoder)
        self._output(b"", decoder, final=True)
        if frames.dropped_frames:
            _log.warning("%d oversized test events were dropped", frames.dropped_frames)

    async def pump_events(self, events: asyncio.StreamReader) -> None:
        lines = LineSplitter(MAX_EVENT_LINE_BYTES)
        while chunk := await events.read(READ_BYTES):
            for line in lines.feed(chunk):
                self._receive(line)
        if lines.dropped_lines:
            _log.warning("%d oversized test events were dropped", lines.dropped_lines)

    def _receive(self, line: bytes) -> bool:
        """One event line applied; False (and a warning) if it is not one of our events."""
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise EventFormatError("not an object")
            event = parse_event(data)
        except ValueError as error:  # JSONDecodeError and EventFormatError are ValueErrors
            _log.warning("ignoring a malformed test event: %s", error)
            return False
        if (shown := self._progress.apply(event)) is not None:
            self._channel.put(shown)
        return True
