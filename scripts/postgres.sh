#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for the pipeline tests (and for trying the
# Postgres loader by hand). Installs Debian's postgresql package when no server is installed.
#
#   eval "$(scripts/postgres.sh start /tmp/pg)"   # prints export lines: PGHOST PGPORT PGUSER ...
#   scripts/postgres.sh stop /tmp/pg              # stops the server and removes the directory
#
# The cluster lives entirely in the given directory (data, socket, log); nothing else on the
# machine is touched apart from the package install. As root the server runs as `postgres`,
# since PostgreSQL refuses to run as root.
set -euo pipefail

DB_NAME=${PG_DB_NAME:-dlf}
DB_USER=${PG_DB_USER:-dlf_loader}
DB_PASSWORD=${PG_DB_PASSWORD:-dlf-loader-password}

die() { echo "postgres.sh: $*" >&2; exit 1; }

bindir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x $dir/initdb && -x $dir/pg_ctl ]]; then echo "$dir"; return 0; fi
    done
    if command -v pg_config >/dev/null && [[ -x "$(pg_config --bindir)/initdb" ]]; then
        pg_config --bindir; return 0
    fi
    return 1
}

install_server() {
    bindir >/dev/null && return 0
    [[ $(id -u) == 0 ]] || die "PostgreSQL is not installed and installing it needs root (apt-get install postgresql)."
    echo "postgres.sh: installing PostgreSQL from Debian packages..." >&2
    # No default cluster on port 5432: the tests make their own.
    if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
        mkdir -p /etc/postgresql-common
        echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || die "apt-get update failed."
    apt-get install -y -qq -o Dpkg::Options::=--force-confold postgresql >&2 \
        || die "apt-get install postgresql failed."
    bindir >/dev/null || die "postgresql installed, but no initdb/pg_ctl found under /usr/lib/postgresql."
}

# Run a server program as the cluster's owner.
as_owner() {
    if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local root=$1 bin port
    install_server
    bin=$(bindir)
    [[ -e $root/data ]] && die "$root/data already exists; stop that server first: $0 stop $root"
    mkdir -p "$root"
    root=$(cd "$root" && pwd)
    chmod 700 "$root"
    [[ $(id -u) == 0 ]] && chown postgres: "$root"
    local superpw
    superpw=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    printf '%s\n' "$superpw" > "$root/superuser.pw"
    [[ $(id -u) == 0 ]] && chown postgres: "$root/superuser.pw"
    as_owner "$bin/initdb" -D "$root/data" -U postgres --auth=scram-sha-256 \
        --pwfile="$root/superuser.pw" --encoding=UTF8 --locale=C.UTF-8 >"$root/initdb.log" 2>&1 \
        || { cat "$root/initdb.log" >&2; die "initdb failed."; }
    port=$(free_port)
    as_owner "$bin/pg_ctl" -D "$root/data" -l "$root/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $root -c fsync=off" >/dev/null \
        || { cat "$root/server.log" >&2; die "the server did not start."; }
    PGPASSWORD=$superpw "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
        -c "CREATE ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD'" \
        -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" >&2 \
        || die "could not create the database."
    cat <<EOF
export PGHOST=127.0.0.1
export PGPORT=$port
export PGUSER=$DB_USER
export PGPASSWORD=$DB_PASSWORD
export PGDATABASE=$DB_NAME
EOF
}

stop() {
    local root=$1 bin
    if [[ -e $root/data/postmaster.pid ]] && bin=$(bindir); then
        as_owner "$bin/pg_ctl" -D "$root/data" -m fast -w stop >/dev/null \
            || echo "postgres.sh: pg_ctl stop failed; see $root/server.log" >&2
    fi
    rm -rf "$root"
}

case "${1:-}:${2:-}" in
    start:?*) start "$2" ;;
    stop:?*) stop "$2" ;;
    install:*) install_server ;;
    *) die "usage: $0 start DIR | stop DIR | install" ;;
esac
