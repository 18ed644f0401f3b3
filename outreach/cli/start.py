"""The ``outreach`` command's entry point: start-up runs without the cycle collector.

Start-up (the modules, the commands, a province's 400 KB config read into settings) makes
hundreds of thousands of objects that all live to the end of the command; each collection
would walk them again, a tenth of a short command's time. The collector comes back, with
those objects frozen out of its view, as soon as the command has its settings
(``resume_collector``, called by ``cli.common.runtime``); a command that reads none is over
quickly.
"""

from __future__ import annotations

import gc
from typing import NoReturn


class _StartUp:
    paused = False


def main() -> NoReturn:
    gc.disable()
    _StartUp.paused = True
    from outreach.cli.app import main as run_command

    run_command()


def resume_collector() -> None:
    """Start-up is over: the collector back on, if it was paused for it (in-process runs,
    such as the tests', never pause it)."""
    if _StartUp.paused:
        _StartUp.paused = False
        gc.freeze()
        gc.enable()
