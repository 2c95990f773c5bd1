#!/usr/bin/env bash
# Start or stop a throw-away PostgreSQL server from Debian's packages, as a non-root user, on a
# free port of 127.0.0.1. `start DIR` prints the DSN (MWAA_EXTRAS_TEST_PG_DSN) on its last line.
#   bash .ci/postgres.sh start /tmp/pg     -> postgresql://mwaaci@127.0.0.1:PORT/postgres
#   bash .ci/postgres.sh stop /tmp/pg
set -euo pipefail
PG_USER=mwaaci
action=${1:?start or stop}
dir=${2:?a folder for the server}

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

case "$action" in
  start)
    if [[ -z "$(pg_bin)" ]]; then
      echo "installing PostgreSQL from Debian's packages" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      apt-get install -y -qq postgresql >/dev/null
    fi
    bin=$(pg_bin)
    id -u "$PG_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
    mkdir -p "$dir/data" "$dir/sock"
    chmod 755 "$dir"
    chown "$PG_USER" "$dir" "$dir/data" "$dir/sock"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    runuser -u "$PG_USER" -- "$bin/initdb" -D "$dir/data" -U "$PG_USER" --auth=trust -E UTF8 >/dev/null
    # fsync off: a throw-away test server; SIGKILL tests kill clients, never the server.
    runuser -u "$PG_USER" -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
      "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock -c fsync=off -c max_connections=300" start >/dev/null
    echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
    echo "postgresql://$PG_USER@127.0.0.1:$port/postgres"
    ;;
  stop)
    bin=$(pg_bin)
    if [[ -n "$bin" && -f "$dir/data/postmaster.pid" ]]; then
      runuser -u "$PG_USER" -- "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    fi
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
