"""Typed config dataclasses: validation that names the field, and the JSON round trip.

Every command takes one config dataclass (see DESIGN.md, conventions 3 and 4). A config validates itself in
`__post_init__` with `require`, and is saved as JSON in every run directory and checkpoint. Loading converts each
value back to the field's declared type and rejects unknown keys, wrong types and failed checks with a
`ConfigError` that names the field, so a hand-edited or stale `config.json` fails with one clear sentence.

Supported field types: bool, int, float, str, Path, Enum, Literal, Optional/unions, tuple, list, dict with str
keys, nested dataclasses, and Any.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from fourfold.core.errors import FourfoldError

T = TypeVar("T")


class ConfigError(FourfoldError):
    """A config value is missing, of the wrong type or out of range.

    Attributes:
        field: dotted path of the offending field (`optimizer.learning_rate`), or "" for the whole config.
        message: what is wrong with it, e.g. "must be positive (got -1)".
    """

    def __init__(self, field: str, message: str, source: str = "") -> None:
        self.field = field
        self.message = message
        self.source = source
        where = f"{source}: " if source else ""
        what = f"{field}: " if field else ""
        super().__init__(f"{where}{what}{message}")


def require(condition: bool, field: str, message: str) -> None:
    """Raise `ConfigError(field, message)` unless `condition` holds; the validation step of `__post_init__`.

    Example:
        require(self.learning_rate > 0, "learning_rate", f"must be positive (got {self.learning_rate})")
    """
    if not condition:
        raise ConfigError(field, message)


def to_jsonable(value: Any) -> Any:
    """Convert a config value (dataclass, Path, Enum, tuple, nested containers) into plain JSON types."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"{type(value).__name__} is not a config value type")


def from_jsonable(cls: type[T], data: Any, field: str = "") -> T:
    """Build the dataclass `cls` from plain JSON data, converting and checking every field.

    Raises:
        ConfigError: naming the field for an unknown key, a missing required field, a value of the wrong type, or
            a check in the dataclass's `__post_init__` that fails.
    """
    if not (dataclasses.is_dataclass(cls) and isinstance(cls, type)):
        raise TypeError(f"{cls!r} is not a dataclass type")
    if not isinstance(data, Mapping):
        raise ConfigError(field, f"expected an object with the fields of {cls.__name__}, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        known = ", ".join(fields)
        raise ConfigError(_join(field, unknown[0]), f"is not a field of {cls.__name__} (fields: {known})")
    kwargs: dict[str, Any] = {}
    for name, spec in fields.items():
        if name not in data:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                raise ConfigError(_join(field, name), f"is required by {cls.__name__} but missing")
            continue
        kwargs[name] = _convert(hints[name], data[name], _join(field, name))
    try:
        return cls(**kwargs)
    except ConfigError as error:
        raise ConfigError(_join(field, error.field), error.message) from None


def save_config(config: Any, path: str | Path) -> Path:
    """Write `config` (a dataclass) as indented JSON to `path`, atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(json.dumps(to_jsonable(config), indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path


def load_config(cls: type[T], path: str | Path) -> T:
    """Read a config JSON file written by `save_config` back into `cls`.

    Raises:
        ConfigError: the file is missing or not JSON, or a field is wrong (the message names file and field).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("", "no such config file", source=str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError("", f"not valid JSON ({error})", source=str(path)) from None
    try:
        return from_jsonable(cls, data)
    except ConfigError as error:
        raise ConfigError(error.field, error.message, source=str(path)) from None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix and name else prefix or name


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(tp: Any, value: Any, field: str) -> Any:
    """Convert one JSON value to the declared type `tp`, or raise ConfigError naming `field`."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin is typing.Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, field)
            except ConfigError:
                continue
        raise ConfigError(field, f"expected {_type_name(tp)}, got {value!r}")
    if origin is typing.Literal:
        if value in args:
            return value
        choices = ", ".join(repr(a) for a in args)
        raise ConfigError(field, f"must be one of {choices}, got {value!r}")
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return from_jsonable(tp, value, field)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            choices = ", ".join(repr(m.value) for m in tp)
            raise ConfigError(field, f"must be one of {choices}, got {value!r}") from None
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is Path:
        if isinstance(value, str):
            return Path(value)
    elif origin is tuple:
        if isinstance(value, list | tuple):
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(_convert(args[0], v, f"{field}[{i}]") for i, v in enumerate(value))
            if len(args) != len(value):
                raise ConfigError(field, f"expected {len(args)} values, got {len(value)}")
            return tuple(_convert(a, v, f"{field}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True)))
    elif origin is list:
        if isinstance(value, list | tuple):
            return [_convert(args[0] if args else Any, v, f"{field}[{i}]") for i, v in enumerate(value)]
    elif origin is dict:
        if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
            item = args[1] if args else Any
            return {k: _convert(item, v, f"{field}.{k}") for k, v in value.items()}
    else:
        raise TypeError(f"config field {field!r} has unsupported type {tp!r}")
    raise ConfigError(field, f"expected {_type_name(tp)}, got {value!r}")
