"""Error shapes and request-field parsing shared by the stand-in's endpoints.

Error texts follow Qdrant 1.12's wording ("Wrong input: ...", "Not found: ...") and its
status codes, so client code that matches on them behaves as against the real server.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from typing import Any

JsonObject = dict[str, Any]
PointId = int | str
"""An unsigned integer, or a UUID in its canonical hyphenated lower-case form."""

_MAX_POINT_ID = 2**64 - 1


class ApiError(Exception):
    """A request Qdrant would refuse: becomes `{"status": {"error": message}}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class RawReply:
    """A non-JSON answer (a snapshot download)."""

    content_type: str
    body: bytes


def bad_input(description: str) -> ApiError:
    return ApiError(400, f"Wrong input: {description}")


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad request: {description}")


def not_found(description: str) -> ApiError:
    return ApiError(404, f"Not found: {description}")


def already_exists(description: str) -> ApiError:
    # Qdrant's AlreadyExists error reads "Wrong input" but answers 409 Conflict.
    return ApiError(409, f"Wrong input: {description}")


def format_error(description: str, where: str = "JSON body") -> ApiError:
    """A body that does not deserialize: Qdrant answers 400."""
    return ApiError(400, f"Format error in {where}: {description}")


def validation_error(field: str, description: str, where: str = "JSON body") -> ApiError:
    """A body that deserializes but breaks a constraint: Qdrant answers 422."""
    return ApiError(422, f"Validation error in {where}: [{field}: {description}]")


def unsupported(feature: str) -> ApiError:
    return bad_request(f"not supported by this Qdrant stand-in: {feature}")


def collection_missing(name: str) -> ApiError:
    return not_found(f"Collection `{name}` doesn't exist!")


def point_missing(point_id: PointId) -> ApiError:
    return not_found(f"No point with id {point_id} found")


_ENGINE_POINT_MISSING = re.compile(r"No point with id (\S+)")


def engine_error(error: Exception) -> ApiError:
    """An error the Qdrant engine raised, as Qdrant's REST layer answers it: a missing point
    is a 404, an argument the engine's bindings cannot take a format error, the rest (the
    engine's own validation: dimensions, vector names...) "Wrong input"."""
    text = str(error)
    missing = _ENGINE_POINT_MISSING.match(text)
    if missing:
        return not_found(f"No point with id {missing.group(1)} found")
    if isinstance(error, TypeError | ValueError | OverflowError):
        return format_error(text.splitlines()[0] if text else type(error).__name__)
    return bad_input(text)


# ---------------------------------------------------------------- JSON value checks


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def expect_object(value: Any, field: str) -> JsonObject:
    if not isinstance(value, dict):
        raise format_error(f"`{field}` must be an object, got {_type_name(value)}")
    return value


def expect_list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise format_error(f"`{field}` must be an array, got {_type_name(value)}")
    return value


def body_object(body: Any) -> JsonObject:
    """The request body as an object; an absent body reads as serde's EOF error."""
    if body is None:
        raise format_error("EOF while parsing a value at line 1 column 0")
    return expect_object(body, "body")


def required(obj: JsonObject, key: str) -> Any:
    if key not in obj or obj[key] is None:
        raise format_error(f"missing field `{key}`")
    return obj[key]


def opt_int(obj: JsonObject, key: str, default: int, minimum: int = 0) -> int:
    value = obj.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise format_error(f"`{key}` must be an unsigned integer, got {value!r}")
    if value < minimum:
        raise validation_error(key, f"value {value} invalid, must be {minimum} or larger")
    return value


def opt_float(obj: JsonObject, key: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise format_error(f"`{key}` must be a number, got {_type_name(value)}")
    return float(value)


def opt_bool(obj: JsonObject, key: str, default: bool) -> bool:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise format_error(f"`{key}` must be a boolean, got {_type_name(value)}")
    return value


def opt_str(obj: JsonObject, key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise format_error(f"`{key}` must be a string, got {_type_name(value)}")
    return value


def query_flag(query: dict[str, str], name: str, default: bool) -> bool:
    """A boolean query parameter such as `?wait=true`."""
    raw = query.get(name)
    if raw is None:
        return default
    if raw not in ("true", "false"):
        raise format_error(f"`{name}` must be true or false, got {raw!r}", "query parameters")
    return raw == "true"


# ---------------------------------------------------------------- ids and vectors


def parse_point_id(value: Any, where: str = "JSON body") -> PointId:
    """An unsigned 64-bit integer or any UUID spelling, normalised like Qdrant does."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_POINT_ID:
        return value
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    raise format_error(
        f"value {value!r} is not a valid point ID, "
        "valid values are either an unsigned integer or a UUID",
        where,
    )


def parse_path_point_id(text: str) -> PointId:
    return parse_point_id(int(text) if text.isdigit() else text, "path parameters")


def parse_point_ids(value: Any, field: str) -> list[PointId]:
    return [parse_point_id(item) for item in expect_list(value, field)]


def parse_dense_vector(value: Any, field: str) -> list[float]:
    items = expect_list(value, field)
    vector: list[float] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | float) or not math.isfinite(item):
            raise format_error(f"`{field}` must contain only finite numbers, got {item!r}")
        vector.append(float(item))
    return vector
