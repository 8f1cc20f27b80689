"""RFC 3339 timestamps in the one fixed-width UTC form Docker writes, so strings sort in time
order: parsing any RFC 3339(Nano) time, the fixed form, and the API's `since`/`until` form."""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, datetime, timedelta

RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)", re.ASCII
)
RFC3339_BYTES = re.compile(RFC3339.pattern.encode())  # bytes patterns are ASCII-only
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp_to_ns(timestamp: str) -> int:
    """Nanoseconds since the epoch of an RFC3339(Nano) timestamp; ValueError if it is not one."""
    match = RFC3339.fullmatch(timestamp)
    if match is None:
        raise ValueError(f"not an RFC3339 timestamp: {timestamp!r}")
    *fields, fraction, zone = match.groups()
    seconds = calendar.timegm((*map(int, fields), 0, 0, 0))
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * 1_000_000_000 + int((fraction or "").ljust(9, "0"))


def ns_to_timestamp(ns: int) -> str:
    """The fixed-width UTC form Docker writes: 2024-01-02T03:04:05.000000001Z."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    t = time.gmtime(seconds)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
        f"T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{fraction:09d}Z"
    )


def normalize_timestamp(timestamp: str) -> str:
    """Any RFC3339 timestamp (Docker trims zeros in `StartedAt`) in the fixed-width form."""
    return ns_to_timestamp(timestamp_to_ns(timestamp))


def now_timestamp() -> str:
    return ns_to_timestamp(time.time_ns())


def as_timestamp(moment: str | datetime) -> str:
    """A datetime (naive ones are local time) or RFC3339 string in the fixed-width form."""
    if isinstance(moment, str):
        return normalize_timestamp(moment)
    micros = (moment.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
    return ns_to_timestamp(micros * 1000)


def docker_time(timestamp: str) -> str:
    """The API's `since`/`until` form, "seconds.nanoseconds", exact to the nanosecond."""
    seconds, fraction = divmod(timestamp_to_ns(timestamp), 1_000_000_000)
    return f"{seconds}.{fraction:09d}"
