"""A pydantic validation error in the words a person reads: ``expected a table, got an
integer``, ``unknown key (known: …)``, ``required key is missing (what it is for)`` — in the
current language, without the key (the caller puts the ``file:line: key:`` before it)."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Annotated, Any

from pydantic import BaseModel

from outreach.i18n import N_, _

Loc = tuple[str | int, ...]


_EXPECTED = {
    "int_type": N_("an integer"), "int_parsing": N_("an integer"),
    "int_from_float": N_("an integer"), "float_type": N_("a number"),
    "string_type": N_("a string"), "bool_type": N_("a boolean (true/false)"),
    "list_type": N_("an array"), "tuple_type": N_("an array"), "dict_type": N_("a table"),
    "model_type": N_("a table"), "model_attributes_type": N_("a table"),
    "date_type": N_("a date (YYYY-MM-DD without quotes)"),
}


def type_name(value: Any) -> str:
    """What a TOML value is, in the words of the messages (``a table``, ``an integer``)."""
    if isinstance(value, datetime):
        return _("a date-time")
    names = {dict: N_("a table"), list: N_("an array"), str: N_("a string"),
             int: N_("an integer"), float: N_("a number"), bool: N_("a boolean"),
             date: N_("a date"), time: N_("a time")}
    name = names.get(type(value))
    return _(name) if name else type(value).__name__


def describe(error: Mapping[str, Any], model: type[BaseModel] | None = None) -> str:
    """One pydantic error as the problem a person reads (without the key)."""
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        hint = _description(model, tuple(error["loc"])) if model is not None else None
        return (_("required key is missing ({hint})").format(hint=hint) if hint
                else _("required key is missing"))
    if kind == "extra_forbidden":
        known = known_keys(model, tuple(error["loc"][:-1])) if model is not None else []
        return (_("unknown key (known: {keys})").format(keys=", ".join(known)) if known
                else _("unknown key"))
    if kind in _EXPECTED:
        return _("expected {expected}, got {actual}").format(expected=_(_EXPECTED[kind]),
                                                             actual=type_name(value))
    if kind == "greater_than_equal":
        return _("must be at least {least}, got {value}").format(least=ctx["ge"], value=value)
    if kind == "less_than_equal":
        return _("must be at most {most}, got {value}").format(most=ctx["le"], value=value)
    if kind == "greater_than":
        return (_("must be positive, got {value}").format(value=value) if ctx["gt"] == 0
                else _("must be more than {bound}, got {value}").format(bound=ctx["gt"],
                                                                       value=value))
    if kind == "less_than":
        return _("must be less than {bound}, got {value}").format(bound=ctx["lt"], value=value)
    if kind == "literal_error":
        return _("must be {expected}, got {value!r}").format(expected=ctx["expected"],
                                                             value=value)
    if kind in ("string_too_short", "too_short"):
        return _("is empty")
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model of the table at ``loc`` inside ``model`` (None: not a model there)."""
    target: Any = model
    for part in loc:
        target = _inner(target, part)
        if target is None:
            return None
    target = _unwrap(target)
    return target if isinstance(target, type) and issubclass(target, BaseModel) else None


def known_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the table at ``loc`` (inside ``model``) may have, sorted."""
    table = _model_at(model, loc)
    return sorted(f.alias or name for name, f in table.model_fields.items()) if table else []


def _description(model: type[BaseModel], loc: Loc) -> str | None:
    """The description of the field at ``loc`` (what a missing key is for), if it has one."""
    table = _model_at(model, loc[:-1]) if loc else None
    if table is None:
        return None
    for name, f in table.model_fields.items():
        if loc[-1] in (name, f.alias):
            return f.description
    return None


def _unwrap(annotation: Any) -> Any:
    """The model (or container) inside ``Annotated[...]`` and ``X | None``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin in (typing.Union, types.UnionType) and len(args) == 1:
            annotation = args[0]
            continue
        return annotation


def _inner(annotation: Any, part: str | int) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, f in annotation.model_fields.items():
            if part in (name, f.alias):
                return f.annotation
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (list, tuple, Sequence) and isinstance(part, int) and args:
        return args[0]
    if origin in (dict, Mapping) and isinstance(part, str) and len(args) == 2:
        return args[1]
    return None
