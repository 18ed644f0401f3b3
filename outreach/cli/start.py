"""The ``outreach`` command's entry point: start-up runs with the cycle collector held back.

Start-up (the modules, the commands, a province's 400 KB config read into settings) makes
hundreds of thousands of objects that all live to the end of the command; each collection
would walk them again, a tenth of a short command's time. Until the command has its
settings (``resume_collector``, called by ``cli.common.runtime``) the collector runs only
once a million objects more are alive than before; then it is back as it was, with what
start-up made frozen out of its view. A command that never reads settings that way (the
demo makes its own workspace) keeps the held-back collector, which still bounds its memory.
"""

from __future__ import annotations

import gc
from typing import NoReturn

START_UP_THRESHOLD = 1_000_000  # objects allocated, net, between two collections


class _StartUp:
    held: tuple[int, ...] | None = None  # the collector's thresholds before start-up


def main() -> NoReturn:
    _StartUp.held = gc.get_threshold()
    gc.set_threshold(START_UP_THRESHOLD, *_StartUp.held[1:])
    from outreach.cli.app import main as run_command

    run_command()


def resume_collector() -> None:
    """Start-up is over: the collector as it was before it, if it was held back for it
    (in-process runs, such as the tests', never hold it)."""
    if _StartUp.held is not None:
        held, _StartUp.held = _StartUp.held, None
        gc.freeze()
        gc.set_threshold(*held)
