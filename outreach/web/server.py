"""Serving the console with uvicorn: the one entry the command line's `outreach web` calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from outreach.web.app import create_app
from outreach.web.session import load_secret

if TYPE_CHECKING:
    from outreach.runtime import Runtime


def serve(rt: Runtime, *, host: str, port: int, idle_minutes: float,
          forwarded_allow_ips: str) -> None:
    """Run the console until interrupted (uvicorn handles SIGINT and SIGTERM)."""
    import uvicorn

    rt.db  # noqa: B018  (the schema is checked before the first request, not during it)
    application = create_app(rt, load_secret(rt.settings.data_dir), idle_minutes=idle_minutes)
    uvicorn.run(application, host=host, port=port, proxy_headers=True,
                forwarded_allow_ips=forwarded_allow_ips, log_level="info", access_log=False,
                server_header=False)
