"""The console's pages on the department database: dashboard, the queue's first page and
a calendar week, each rendered in-process by the real app (Starlette's test client: no
network, so the figure is the page's own work), signed in as an officer."""

from __future__ import annotations

import re
import time
from typing import Any

from bench import datasets
from bench.harness import Context, Result, median
from outreach.actions.users import add_user
from outreach.config.load import load_settings
from outreach.runtime import Runtime

TARGET_S = 0.100
PASSWORD = "bench password 1"


def signed_in(rt: Runtime) -> Any:
    """The console app on ``rt`` in Starlette's test client, signed in as an officer (one
    is added: the database is written)."""
    from starlette.testclient import TestClient

    from outreach.web.app import create_app

    add_user(rt, "bench", role="officer", password=PASSWORD, by="bench")
    client = TestClient(create_app(rt, "bench secret " * 4), follow_redirects=False)
    login = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert token, "no CSRF token on /login"
    signed = client.post("/login", data={"username": "bench", "password": PASSWORD,
                                          "csrf": token.group(1)})
    assert signed.status_code == 303, signed.text[:200]
    return client


def bench_web(ctx: Context, ws: datasets.Workspace) -> list[Result]:
    own = datasets.copy_workspace(ws, ctx.work / "web")  # signing in writes to the database
    rt = Runtime(load_settings(own.config))
    try:
        client = signed_in(rt)
        account = own.account_names()[0]
        pages = [("web.dashboard", "dashboard /", "/"),
                 ("web.queue", "queue, first page", "/queue"),
                 ("web.calendar", f"calendar week of {account}",
                  f"/calendar?account={account}&view=week")]
        reps = max(ctx.reps, 5)
        results = []
        for key, name, path in pages:
            first = client.get(path)  # warm: templates compiled, the library loaded
            assert first.status_code == 200, (path, first.status_code, first.text[:200])
            samples, cpu = [], []
            for _ in range(reps):
                t0, c0 = time.perf_counter(), time.process_time()
                r = client.get(path)
                samples.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
                assert r.status_code == 200
            value = median(samples)
            results.append(Result(key, f"console page: {name} ({ws.shape.posts // 1000}k posts)",
                                  value, "s", "≤ 0.1 s", ok=value <= TARGET_S, samples=samples,
                                  details={"bytes": len(first.content), "cpu_s": cpu},
                                  note=f"CPU {median(cpu) * 1000:.0f} ms"))
        return results
    finally:
        rt.close()
