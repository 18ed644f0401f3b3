"""`outreach db …`: bring the schema up to date, back the database up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach.cli import output
from outreach.cli.common import runtime
from outreach.cli.lazy import sub_app
from outreach.i18n import _
from outreach.store.db import HEAD

app = sub_app("db", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date (commands also do this when needed)."""
    rt = runtime(migrate=False)
    before = rt.db.current_revision()
    rt.db.ensure_schema()
    output.message(_("database at revision {head}").format(head=HEAD) + (
        "" if before == HEAD else _(" (was {before})").format(before=before or _("empty"))))


@app.command("backup")
def db_backup(file: Annotated[Path, typer.Argument(metavar="FILE",
                                                   help="Where to write the copy.")]) -> None:
    """An online copy of the SQLite database (safe while the daemon runs)."""
    rt = runtime()
    rt.db.backup(file)
    output.message(_("backed up to {file}").format(file=file))
