"""Typed documents to JSON and back, and their JSON Schema, all read off the dataclasses' own
field types, so the three can never disagree.

A document class is a frozen dataclass whose fields are str, int, float, bool, Any, a nested
document class, list[T], dict[str, T] or `T | None`. Field metadata (made by `wire_field`):
- `name`: the key on the wire when it differs from the field's (`from` is a Python keyword);
- `required=False`: the key may be absent (a key added after the schema's first files, or one
  written only sometimes); the JSON Schema does not require it;
- `omit_none=True`: the key is left out when its value is None (written only sometimes);
- `choices`: the values the key may hold (the JSON Schema's `enum`);
- `extra=True` (one `dict[str, Any]` field, at most): the keys this version does not know,
  kept as they came so a merge of a newer file loses nothing.

Reading is tolerant, as results.json readers always were: a missing key takes the field's
default, a value of an unexpected shape is kept as it is (validating is the JSON Schema's job).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Hashable, Mapping
from functools import cache
from typing import Any, TypeVar, Union, cast

T = TypeVar("T")
Field = dataclasses.Field[Any]


def wire_field(
    default: Any = None,
    *,
    factory: Any = None,
    name: str | None = None,
    required: bool = True,
    omit_none: bool = False,
    extra: bool = False,
    choices: tuple[str, ...] = (),
) -> Any:
    """A dataclass field with its wire metadata (see the module docstring)."""
    meta = {
        "name": name,
        "required": required and not omit_none and not extra,
        "omit_none": omit_none,
        "extra": extra,
        "choices": choices,
    }
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _key(f: Field) -> str:
    return f.metadata.get("name") or f.name


@cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _fields(cls: Any) -> tuple[Field, ...]:
    return dataclasses.fields(cls)


def _args(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


# -- to the wire ---------------------------------------------------------------------------


def to_wire(value: Any) -> Any:
    """A document (or any value inside one) as plain JSON-shaped data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if f.metadata.get("extra"):
                out.update({k: v for k, v in item.items() if k not in out})
            elif not (f.metadata.get("omit_none") and item is None):
                out[_key(f)] = to_wire(item)
        return out
    if isinstance(value, Mapping):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    return value


# -- from the wire -------------------------------------------------------------------------


def from_wire(cls: type[T], data: Any) -> T:
    """The document of class `cls` that `data` (a mapping) describes; missing keys take defaults."""
    data = data if isinstance(data, Mapping) else {}
    hints = _hints(cast(Hashable, cls))
    known = {_key(f) for f in _fields(cls)}
    kwargs: dict[str, Any] = {}
    for f in _fields(cls):
        if f.metadata.get("extra"):
            kwargs[f.name] = {k: v for k, v in data.items() if k not in known}
        elif _key(f) in data:
            kwargs[f.name] = _value(hints[f.name], data[_key(f)])
    return cls(**kwargs)


def _value(tp: Any, raw: Any) -> Any:
    if raw is None:
        return None
    if _is_union(tp):
        inner = [a for a in _args(tp) if a is not type(None)]
        return _value(inner[0], raw) if len(inner) == 1 else raw
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return from_wire(tp, raw) if isinstance(raw, Mapping) else raw  # type: ignore[arg-type]
    if origin in (list, tuple) and isinstance(raw, list):
        return [_value(_args(tp)[0], v) for v in raw]
    if origin in (dict, Mapping) and isinstance(raw, Mapping):
        return {k: _value(_args(tp)[1], v) for k, v in raw.items()}
    return raw


# -- JSON Schema ---------------------------------------------------------------------------

_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean"}


def json_schema(cls: type, schema_id: str, title: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of documents of class `cls`, each nested class a `$defs`
    entry. Keys are open (additionalProperties): the format grows by additions only."""
    defs: dict[str, Any] = {}
    root = _object_schema(cls, defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        "title": title,
        **root,
        "$defs": defs,
    }


def _object_schema(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    hints = _hints(cls)
    props: dict[str, Any] = {}
    required: list[str] = []
    for f in _fields(cls):
        if f.metadata.get("extra"):
            continue
        choices = f.metadata.get("choices")
        props[_key(f)] = {"enum": list(choices)} if choices else _type_schema(hints[f.name], defs)
        if f.metadata.get("required", True):
            required.append(_key(f))
    out: dict[str, Any] = {"type": "object", "properties": props, "required": required}
    doc = (cls.__doc__ or "").strip()
    return {"description": " ".join(doc.split()), **out} if doc else out


def _type_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if tp is Any:
        return {}
    if tp in _SCALARS:
        # JSON has one kind of number: a float field holds 3 as well as 3.5.
        return {"type": "number"} if tp is float else {"type": _SCALARS[tp]}
    if tp is type(None):
        return {"type": "null"}
    if _is_union(tp):
        members = [_type_schema(a, defs) for a in _args(tp)]
        if all(set(m) == {"type"} for m in members):  # str | None: one list of types
            return {"type": [m["type"] for m in members]}
        return {"anyOf": members}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # placed first: a class that holds itself ends here
            defs[name] = _object_schema(tp, defs)
        return {"$ref": f"#/$defs/{name}"}
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        return {"type": "array", "items": _type_schema(_args(tp)[0], defs)}
    if origin in (dict, Mapping):
        return {"type": "object", "additionalProperties": _type_schema(_args(tp)[1], defs)}
    raise TypeError(f"no JSON Schema for the type {tp!r}")
