"""The shape of the house, checked: the layers (import-linter's contracts in pyproject.toml),
module sizes, a typed Runtime everywhere, and status words spelled only in ``states.py``."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from outreach.states import (
    AccountState,
    NotificationStatus,
    NotifyEvent,
    OpinionClass,
    OpinionState,
    PostKind,
    PostStatus,
)

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "outreach"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
MAX_LINES = 500


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_the_layers_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_report_that_prints_breaks_the_layers(tmp_path: Path) -> None:
    """The contracts can fail: a copy of the package whose report builder imports the
    terminal output (a core module reaching up to a face) is refused, naming the contracts."""
    shutil.copytree(PACKAGE, tmp_path / "outreach",
                    ignore=shutil.ignore_patterns("__pycache__", "*.skops"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    build = tmp_path / "outreach" / "reports" / "build.py"
    build.write_text(build.read_text(encoding="utf-8") + "\nfrom outreach.cli import output  # noqa\n",
                     encoding="utf-8")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "outreach.reports.build -> outreach.cli.output" in result.stdout
    assert "Only the faces print BROKEN" in result.stdout.replace("\n", " ")


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def test_no_module_is_over_500_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_runtime_is_typed_wherever_it_is_passed() -> None:
    untyped = [f"{p.relative_to(ROOT)}:{i}" for p in _modules()
               for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
               if "rt: Any" in line]
    assert untyped == []


STATUS_WORDS = {str(m) for enum in (PostStatus, PostKind, AccountState, OpinionClass, OpinionState,
                                    NotificationStatus, NotifyEvent) for m in enum}
STATUS_FIELDS = {"status", "state", "kind", "klass", "opinion_class", "event", "class_",
                 "handled_state"}


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return str(node.slice.value)
    if isinstance(node, ast.Call):
        return _name(node.func)
    return None


def _strings(node: ast.AST) -> list[ast.Constant]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [c for e in node.elts for c in _strings(e)]
    return []


def raw_status_words(source: str) -> list[tuple[int, str]]:
    """String constants that spell a status where a status is compared, assigned, defaulted
    or filtered on (``post.status == "queued"``, ``status="draft"``, ``.in_(("queued",))``)."""
    found: list[ast.Constant] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_name(s) in STATUS_FIELDS for s in sides):
                found += [c for s in sides for c in _strings(s)]
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr == "in_":
                found += [c for a in node.args for c in _strings(a)]
            found += [c for kw in node.keywords if kw.arg in STATUS_FIELDS | {"default"}
                      for c in _strings(kw.value)]
        elif isinstance(node, ast.Assign) and any(_name(t) in STATUS_FIELDS for t in node.targets):
            found += _strings(node.value)
        elif isinstance(node, ast.Dict):
            found += [c for k, v in zip(node.keys, node.values, strict=True)
                      if isinstance(k, ast.Constant) and k.value in STATUS_FIELDS
                      for c in _strings(v)]
    return sorted({(c.lineno, c.value) for c in found if c.value in STATUS_WORDS})


def test_status_words_are_spelled_only_in_the_enum_module() -> None:
    raw = {f"{p.relative_to(ROOT)}:{line}": word for p in _modules() if p.name != "states.py"
           for line, word in raw_status_words(p.read_text(encoding="utf-8"))}
    assert raw == {}


def test_the_status_check_finds_what_it_looks_for() -> None:
    source = '''
if post.status == "queued": pass
q = select(Post).where(col(Post.status).in_(("draft", "published")))
row = Account(state="needs_reauth")
post.kind = "reply"
ok = post.status == PostStatus.QUEUED and label == "queued"
'''
    assert raw_status_words(source) == [(2, "queued"), (3, "draft"), (3, "published"),
                                        (4, "needs_reauth"), (5, "reply")]


def test_the_queue_commands_load_no_heavy_library() -> None:
    """What an officer runs most starts fast: the queue's commands load neither the
    migrations (Alembic), the opinion model (numpy, scikit-learn) nor the notification
    transports (apprise)."""
    heavy = ("alembic", "numpy", "sklearn", "apprise", "matplotlib", "openpyxl")
    code = ("import sys, outreach.cli.queue; "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
def test_queue_list_loads_only_the_reads(workspace: Path, cli: Any) -> None:
    """`queue list`, the page an officer opens most, loads none of the writers: not the
    actions that write, the pictures, the renderer of tips, nor the publisher."""
    assert cli("queue", "add", "--account", "pingan-local", "--text", "见面再说", "--at", "+1h").code == 0
    writers = ("outreach.actions.posts", "outreach.actions.batches", "outreach.actions.media",
               "outreach.library.media", "outreach.publish", "PIL")
    code = ("import sys\nfrom outreach.cli.app import run_cli\n"
            "sys.argv = ['outreach', 'queue', 'list', '--json']\nassert run_cli() == 0\n"
            f"print(sorted(m for m in sys.modules if m.startswith({writers!r})))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert "见面再说" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


