#!/usr/bin/env bash
# Start or stop the mastodon-mock peer that the slow Mastodon tests talk to.
#
#   .ci/mastodon-peer.sh start    install the peer in its own venv if needed, start it, wait for
#                                 /health, print the lines to export (also exports them if sourced)
#   .ci/mastodon-peer.sh stop     stop the peer started by `start` (by its PID) and wait for it
#
# Environment (all optional):
#   PEER_VENV   the peer's own venv          (default: $HOME/.cache/outreach-peer-venv)
#   PEER_PORT   the port it listens on       (default: 3001)
#   PEER_STATE  where the PID file and log go (default: $PEER_VENV/run)
#   PYTHON      the interpreter that creates the venv (default: python3)
#
# After `start`: OUTREACH_MASTODON_TEST_URL=http://127.0.0.1:$PEER_PORT and
# OUTREACH_PEER_PYTHON=$PEER_VENV/bin/python (the cross-check test runs Mastodon.py with it).
# The peer never goes into the project's venv: its pytest plugin and dependencies stay out.

_peer_main() {
    local venv="${PEER_VENV:-$HOME/.cache/outreach-peer-venv}"
    local port="${PEER_PORT:-3001}"
    local state="${PEER_STATE:-$venv/run}"
    local here root
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    root="$(cd "$here/.." && pwd)"
    local pidfile="$state/peer-$port.pid"
    local log="$state/peer-$port.log"
    local url="http://127.0.0.1:$port"

    case "${1:-}" in
    start)
        if [ ! -x "$venv/bin/mastodon_mock" ] || ! "$venv/bin/python" -c "import mastodon" 2>/dev/null; then
            echo "mastodon-peer: installing mastodon-mock 0.6.1 and Mastodon.py 2.3.3 into $venv" >&2
            "${PYTHON:-python3}" -m venv "$venv" || return 1
            "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input \
                "mastodon-mock==0.6.1" "Mastodon.py==2.3.3" </dev/null >&2 || return 1
        fi
        mkdir -p "$state" || return 1
        if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            echo "mastodon-peer: already running (pid $(cat "$pidfile")) on $url" >&2
        else
            # --config so the cwd's pyproject cannot change the peer; --port beats a $PORT from CI.
            # The peer seeds its domain from the config; rewrite it when the port is not 3001.
            local config="$root/tests/peer/peer.toml"
            if [ "$port" != "3001" ]; then
                sed "s/127\.0\.0\.1:3001/127.0.0.1:$port/" "$config" > "$state/peer-$port.toml"
                config="$state/peer-$port.toml"
            fi
            (cd "$state" && exec "$venv/bin/mastodon_mock" serve --config "$config" \
                --host 127.0.0.1 --port "$port" --log-level warning) \
                </dev/null >"$log" 2>&1 &
            echo $! > "$pidfile"
            local pid waited=0
            pid="$(cat "$pidfile")"
            until "$venv/bin/python" - "$url/health" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=1) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
            do
                if ! kill -0 "$pid" 2>/dev/null; then
                    echo "mastodon-peer: the peer exited during start; its log:" >&2
                    cat "$log" >&2
                    rm -f "$pidfile"
                    return 1
                fi
                if [ "$waited" -ge 40 ]; then
                    echo "mastodon-peer: no /health after 20 s; its log:" >&2
                    cat "$log" >&2
                    kill "$pid" 2>/dev/null
                    rm -f "$pidfile"
                    return 1
                fi
                sleep 0.5
                waited=$((waited + 1))
            done
            echo "mastodon-peer: ready on $url (pid $pid, log $log)" >&2
        fi
        export OUTREACH_MASTODON_TEST_URL="$url"
        export OUTREACH_PEER_PYTHON="$venv/bin/python"
        echo "export OUTREACH_MASTODON_TEST_URL=$url"
        echo "export OUTREACH_PEER_PYTHON=$venv/bin/python"
        ;;
    stop)
        if [ -f "$pidfile" ]; then
            local pid
            pid="$(cat "$pidfile")"
            if kill "$pid" 2>/dev/null; then
                # not our child when started by another shell: poll instead of `wait`
                local i=0
                while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
                    sleep 0.1
                    i=$((i + 1))
                done
                if kill -0 "$pid" 2>/dev/null; then
                    kill -9 "$pid" 2>/dev/null
                fi
                wait "$pid" 2>/dev/null || true
            fi
            rm -f "$pidfile"
            echo "mastodon-peer: stopped (pid $pid)" >&2
        else
            echo "mastodon-peer: not running (no $pidfile)" >&2
        fi
        ;;
    *)
        echo "usage: $0 start|stop" >&2
        return 2
        ;;
    esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    _peer_main "$@"
    exit $?
else
    _peer_main "$@"
fi
