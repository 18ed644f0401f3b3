"""The naive reference: Mastodon.py ``status(id)`` for every id, timed by itself.

Run by the peer venv's Python (``$OUTREACH_PEER_PYTHON``, which has Mastodon.py); it
imports nothing from outreach. Input on stdin: {"url", "token", "ids"}; output on stdout:
{"wall", "cpu", "requests", "counts": {id: [reblogs, replies, favourites]}}.
"""

import json
import sys
import time

from mastodon import Mastodon


def main() -> None:
    args = json.load(sys.stdin)
    m = Mastodon(api_base_url=args["url"], access_token=args["token"], version_check_mode="none")
    seen = [0]

    def count(response, *a, **k):  # a requests response hook
        seen[0] += 1

    m.session.hooks["response"].append(count)
    counts = {}
    t0, c0 = time.perf_counter(), time.process_time()
    for status_id in args["ids"]:
        st = m.status(status_id)
        counts[str(st["id"])] = [st["reblogs_count"], st["replies_count"], st["favourites_count"]]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"wall": wall, "cpu": cpu, "requests": seen[0], "counts": counts}))


if __name__ == "__main__":
    main()
