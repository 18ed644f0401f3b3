"""The ``outreach`` command's entry point: start-up runs with the cycle collector held back.

Start-up (the modules, the commands, a province's 400 KB config read into settings) makes
hundreds of thousands of objects that all live to the end of the command; each collection
would walk them again, a tenth of a short command's time. Until the command has its
settings (``resume_collector``, called by ``cli.common.runtime``) the collector runs only
once a million objects more are alive than before; then, with what start-up made frozen
out of its view, it runs at the command's thresholds (a collection of the young objects
every 20 000 more alive, rather than Python's 700: a daemon makes thousands at once for a
post or a page of comments). A command that never reads settings that way (the demo makes
its own workspace) keeps the held-back collector, which still bounds its memory.
"""

from __future__ import annotations

import gc
from typing import NoReturn

START_UP_THRESHOLD = 1_000_000  # objects allocated, net, between two collections
COMMAND_THRESHOLDS = (20_000, 20, 20)  # once the command runs: young, middle, old


class _StartUp:
    held = False


def main() -> NoReturn:
    gc.set_threshold(START_UP_THRESHOLD, *COMMAND_THRESHOLDS[1:])
    _StartUp.held = True
    from outreach.cli.app import main as run_command

    run_command()


def resume_collector() -> None:
    """Start-up is over: the command's collector, if it was held back for start-up
    (in-process runs, such as the tests', never hold it)."""
    if _StartUp.held:
        _StartUp.held = False
        gc.freeze()
        gc.set_threshold(*COMMAND_THRESHOLDS)
