"""SQL phrases the queries of several layers share, compiled per database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


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
