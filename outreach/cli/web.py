"""`outreach web`: the officers' console, served by uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from outreach.cli import output
from outreach.cli.common import runtime
from outreach.cli.lazy import commands_app
from outreach.i18n import _

app = commands_app()


@app.command()
def web(
    host: Annotated[str, typer.Option(help="Address to listen on (keep 127.0.0.1 behind a "
                                           "TLS proxy).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    idle_minutes: Annotated[float, typer.Option(
        "--idle-minutes", min=1, max=24 * 60,
        help="A session ends after this long without a request.")] = 30,
    forwarded_allow_ips: Annotated[str, typer.Option(
        "--forwarded-allow-ips", help="Proxies whose X-Forwarded-For/-Proto are believed "
                                      "(the client address the sign-in throttle counts, and "
                                      "https for Secure cookies).")] = "127.0.0.1",
) -> None:
    """The officers' web console (serve it behind a TLS proxy)."""
    from outreach.web.server import serve

    rt = runtime()
    output.message(_("the console is at http://{host}:{port}/ (sign in with a user from "
                     "`outreach users add`)").format(host=host, port=port))
    serve(rt, host=host, port=port, idle_minutes=idle_minutes,
          forwarded_allow_ips=forwarded_allow_ips)
