#!/bin/bash
# PostgreSQL 15 from Debian, started the way the official image starts: POSTGRES_USER,
# POSTGRES_PASSWORD and POSTGRES_DB are honoured and /docker-entrypoint-initdb.d/*.sql
# runs once, on first initialisation of the data directory.
set -euo pipefail
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"

if [ "$(id -u)" = 0 ]; then
    # A fresh named volume is root-owned; hand it to postgres, then drop privileges.
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec runuser -u postgres -- bash "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile="$(mktemp)"
    printf '%s' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}" >"$pwfile"
    initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    # Clients reach us through the published port, from the bridge network.
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    # Init phase: unix socket only, so a TCP healthcheck stays red until init is done.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -k /tmp" -w start >/dev/null
    if [ "$POSTGRES_DB" != postgres ]; then
        psql -h /tmp -U "$POSTGRES_USER" -d postgres -v ON_ERROR_STOP=1 -q \
            -c "CREATE DATABASE \"$POSTGRES_DB\""
    fi
    for f in /docker-entrypoint-initdb.d/*.sql; do
        [ -e "$f" ] || continue
        echo "envdeck-postgres: running $f"
        psql -h /tmp -U "$POSTGRES_USER" -d "$POSTGRES_DB" -v ON_ERROR_STOP=1 -q -f "$f"
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "envdeck-postgres: init complete"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -k /tmp
