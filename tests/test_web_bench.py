"""The console's page benchmark still runs (tiny sizes, time not judged)."""

from __future__ import annotations

from pathlib import Path

from bench import run


def test_the_console_page_benchmark_runs(tmp_path: Path) -> None:
    results, skipped, _ = run.run_benchmarks(
        run.TINY, groups=["web"], quick=True, cache=tmp_path / "cache", work=tmp_path / "work",
        log=lambda _m: None, use_peer=False)
    assert skipped == []
    assert {r.key for r in results} == {"web.dashboard", "web.queue", "web.calendar"}
    assert all(r.value is not None and r.value > 0 and r.judged(quick=True) is None
               for r in results)
