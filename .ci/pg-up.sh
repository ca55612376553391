#!/usr/bin/env bash
# Idempotent: install PostgreSQL if missing, start a throwaway cluster on 127.0.0.1:$PGPORT (data in
# $PGDATA, fsync off: test data only), wait until it answers, print the URL tests should use.
set -euo pipefail
PGPORT=${PGPORT:-5433}
PGDATA=${PGDATA:-/var/lib/postgresql/podium-ci-$PGPORT}
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 postgresql >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  rm -rf "$PGDATA"
  install -d -m 700 -o postgres -g postgres "$PGDATA"
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
if ! runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 start \
    -o "-p $PGPORT -c listen_addresses=127.0.0.1 -k $PGDATA -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
fi
for _ in $(seq 1 60); do "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" && break; sleep 0.5; done
"$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT"
echo "postgresql://postgres@127.0.0.1:$PGPORT/postgres"
