#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL 15 cluster for the PostgreSQL lane of the tests.
#
#   eval "$(.ci/postgres.sh start)"   initdb in $PG_STATE, start on 127.0.0.1:$PG_PORT as the
#                                      postgres user, create the test database, print the export
#   .ci/postgres.sh stop              stop it and remove the cluster
#
# Environment (optional): PG_PORT (default 55432), PG_STATE (default /tmp/outreach-pg).
set -euo pipefail
port="${PG_PORT:-55432}"
state="${PG_STATE:-/tmp/outreach-pg}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
start)
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        echo "postgres: installing postgresql" >&2
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
        bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    fi
    if [ -d "$state/data" ]; then  # a cluster left by an earlier run: stop it first
        as_pg "$bin/pg_ctl" -D "$state/data" -m fast -w stop >&2 2>/dev/null || true
    fi
    rm -rf "$state" && mkdir -p "$state" && chown postgres: "$state" 2>/dev/null || true
    as_pg "$bin/initdb" -D "$state/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$state/initdb.log" 2>&1 \
        || as_pg "$bin/initdb" -D "$state/data" -U postgres -A trust -E UTF8 >"$state/initdb.log" 2>&1
    as_pg "$bin/pg_ctl" -D "$state/data" -l "$state/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $state -c fsync=on -c max_connections=200" start >&2
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres outreach_test >&2
    url="postgresql+psycopg://postgres@127.0.0.1:$port/outreach_test"
    echo "export OUTREACH_TEST_DATABASE_URL=$url"
    echo "postgres: ready on 127.0.0.1:$port" >&2
    ;;
stop)
    if [ -n "$bin" ] && [ -d "$state/data" ]; then
        as_pg "$bin/pg_ctl" -D "$state/data" -m fast -w stop >&2 || true
    fi
    rm -rf "$state"
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
