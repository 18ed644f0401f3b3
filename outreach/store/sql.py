"""SQL phrases the queries of several layers share, compiled per database."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import Boolean, String, bindparam, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import operators
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine


class Unindexed(FunctionElement[Any]):
    """The column's value, written so that no index of the column offers itself on SQLite
    (``column || ''``): SQLite keeps no statistics, and would seek an account's whole
    history by its index rather than read the window's posts by id. PostgreSQL, which has
    statistics, gets the column as it is."""

    inherit_cache = True
    name = "unindexed"


@compiles(Unindexed)
def _plain(element: Unindexed, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(Unindexed, "sqlite")
def _sqlite_unindexed(element: Unindexed, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} || '')"


def unindexed(column: Any) -> Any:
    return type_coerce(Unindexed(column), column.type)


class _Names(TypeDecorator[Collection[str]]):
    """A list of names bound as one value: a PostgreSQL array, a JSON array on SQLite."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(ARRAY(String) if dialect.name == "postgresql" else String())

    def process_bind_param(self, value: Collection[str] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        names = list(value)
        return names if dialect.name == "postgresql" else json.dumps(names, ensure_ascii=False)


class OneOf(FunctionElement[bool]):
    """``column IN (names)`` with the names bound as one parameter, whatever their number:
    the statement's text stays the same from run to run, so the driver and the database
    parse and plan it once (an expanding IN of a province's thousand accounts is rendered,
    parsed and planned again at every run)."""

    inherit_cache = True
    name = "one_of"
    type = Boolean()

    def self_group(self, against: Any = None) -> Any:
        # a comparison as it stands: not ``(…) = 1`` where booleans are integers (SQLite),
        # which would keep the column's index out
        if against in (operators.and_, operators.or_, operators._asbool):
            return self
        return super().self_group(against)


@compiles(OneOf)
def _any_of(element: OneOf, compiler: Any, **kw: Any) -> str:
    column, names = element.clauses.clauses
    return f"{compiler.process(column, **kw)} = ANY({compiler.process(names, **kw)})"


@compiles(OneOf, "sqlite")
def _sqlite_one_of(element: OneOf, compiler: Any, **kw: Any) -> str:
    column, names = element.clauses.clauses
    return (f"{compiler.process(column, **kw)} IN "
            f"(SELECT value FROM json_each({compiler.process(names, **kw)}))")


def one_of(column: Any, param: str) -> Any:
    """``column`` is one of the names given as parameter ``param`` (a list of strings)."""
    return OneOf(column, bindparam(param, type_=_Names()))
