#!/bin/sh
# Entry point of the battle-postgres image: on first start make a cluster in
# $PGDATA (the volume), open it to the stack's network and create the
# database; then run the server as the postgres user.
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data}
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
POSTGRES_PASSWORD=${POSTGRES_PASSWORD:-}
export PGDATA

log() { echo "battle-postgres: $*" >&2; }

# Started as root: take ownership of the (possibly fresh) volume, then come
# back as postgres.
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

sql_identifier() { printf '"%s"' "$(printf '%s' "$1" | sed 's/"/""/g')"; }

initialise() {
    if [ -n "${POSTGRES_HOST_AUTH_METHOD:-}" ]; then
        auth=$POSTGRES_HOST_AUTH_METHOD
    elif [ -n "$POSTGRES_PASSWORD" ]; then
        auth=scram-sha-256
    else
        auth=trust
        log "POSTGRES_PASSWORD is empty: every connection is trusted (fine for a throwaway test database only)"
    fi

    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    log "initdb into $PGDATA (user $POSTGRES_USER, host auth $auth)"
    set -- --pgdata="$PGDATA" --username="$POSTGRES_USER" --encoding=UTF8 --no-locale \
        --auth-local=trust --auth-host="$auth"
    if [ -n "$POSTGRES_PASSWORD" ]; then set -- "$@" --pwfile="$pwfile"; fi
    initdb "$@" >/dev/null
    rm -f "$pwfile"

    printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
    printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

    if [ "$POSTGRES_DB" != postgres ]; then
        # No TCP and a private socket: neither a client nor a `pg_isready`
        # healthcheck can see this server before the database exists.
        private_socket=$(mktemp -d)
        pg_ctl --pgdata="$PGDATA" --wait --silent \
            --options="-c listen_addresses='' -c unix_socket_directories='$private_socket'" start
        psql --quiet --set=ON_ERROR_STOP=1 --host="$private_socket" --username="$POSTGRES_USER" \
            --dbname=postgres --command="CREATE DATABASE $(sql_identifier "$POSTGRES_DB")" >/dev/null
        pg_ctl --pgdata="$PGDATA" --mode=fast --wait --silent stop
        rmdir "$private_socket"
    fi
    log "database $POSTGRES_DB ready"
}

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    initialise
fi
exec "$@"
