"""Babel's extractor for the command line's modules (``babel.cfg`` names it).

Besides the marked calls (``_``, ``N_``, ``ngettext``), a command's words are written where
typer reads them, unmarked: the docstring of a function registered with ``@app.command`` or
``@app.callback``, each ``help="…"`` keyword, and the help of a :class:`~outreach.cli.lazy.Lazy`
entry. They are message ids as they stand (typer cleans a docstring the way
``inspect.getdoc`` does, as ``ast.get_docstring`` does here), translated when help is shown.
"""

from __future__ import annotations

import ast
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

from babel.messages.extract import extract_python

Found = tuple[int, str, Any, list[str]]


def extract(fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Sequence[str],
            options: Any) -> Iterator[Any]:
    source = fileobj.read()
    yield from extract_python(io.BytesIO(source), keywords, comment_tags, options)
    yield from _help_texts(ast.parse(source.decode(options.get("encoding", "utf-8"))))


def _text(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
        return node.value
    return None


def _is_command(decorator: ast.expr) -> bool:
    call = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(call, ast.Attribute) and call.attr in ("command", "callback")


def _help_texts(tree: ast.Module) -> Iterator[Found]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(map(_is_command, node.decorator_list)):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield node.body[0].lineno, "", doc, []
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "help" and (text := _text(keyword.value)):
                    yield keyword.value.lineno, "", text, []
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name == "Lazy" and len(node.args) == 2 and (text := _text(node.args[1])):
                yield node.args[1].lineno, "", text, []
