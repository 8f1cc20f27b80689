"""Container log lines: parsed from Docker's log stream, made safe, kept in a bounded ring.

Everything here is pure: it is fed bytes and never talks to Docker; `tui.core.logs`
connects it to the engine. One module a job:

- `lines`: `LogLine` and `LineBlock`, the column model a flood travels in;
- `timestamps`: RFC 3339 times in Docker's fixed-width form;
- `ring`: `LogRing`, each service's newest lines;
- `assembler` and `frames`: Docker's multiplexed and TTY streams, fed in any chunks;
- `batcher`: `LineBatcher`, lines handed on ~20 times a second.

The names below are the package's face: callers import from `tui.core.log_buffer`.
"""

from tui.core.log_buffer.assembler import (
    DEFAULT_MAX_LINE_BYTES,
    DOCKER_PARTIAL_BYTES,
    LineAssembler,
    RawLine,
    raw_text,
    split_timestamp,
    to_log_line,
)
from tui.core.log_buffer.batcher import LineBatcher
from tui.core.log_buffer.frames import (
    MultiplexedLogParser,
    ParsedLines,
    StreamFormatError,
    TtyLogParser,
)
from tui.core.log_buffer.lines import (
    EMPTY_BLOCK,
    Column,
    LineBlock,
    LogLine,
    StreamColumn,
    StreamName,
    merged_by_timestamp,
)
from tui.core.log_buffer.ring import DEFAULT_RING_LINES, LogRing
from tui.core.log_buffer.timestamps import (
    as_timestamp,
    docker_time,
    normalize_timestamp,
    now_timestamp,
    ns_to_timestamp,
    timestamp_to_ns,
)

__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "DEFAULT_RING_LINES",
    "DOCKER_PARTIAL_BYTES",
    "EMPTY_BLOCK",
    "Column",
    "LineAssembler",
    "LineBatcher",
    "LineBlock",
    "LogLine",
    "LogRing",
    "MultiplexedLogParser",
    "ParsedLines",
    "RawLine",
    "StreamColumn",
    "StreamFormatError",
    "StreamName",
    "TtyLogParser",
    "as_timestamp",
    "docker_time",
    "merged_by_timestamp",
    "normalize_timestamp",
    "now_timestamp",
    "ns_to_timestamp",
    "raw_text",
    "split_timestamp",
    "timestamp_to_ns",
    "to_log_line",
]
