#!/usr/bin/env bash
# Idempotent: install MariaDB if missing, start a throwaway server on 127.0.0.1:$MYPORT (data in
# $MYDATA), create a user with rights to create test databases, print the URL tests should use.
set -euo pipefail
MYPORT=${MYPORT:-5434}
MYDATA=${MYDATA:-/var/lib/mysql-podium-ci-$MYPORT}
SOCK=$MYDATA/mysqld.sock
if ! command -v mariadbd >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 mariadb-server >/dev/null
fi
if [ ! -d "$MYDATA/mysql" ]; then
  install -d -o mysql -g mysql "$MYDATA"
  mariadb-install-db --user=mysql --datadir="$MYDATA" --auth-root-authentication-method=socket --skip-test-db >/dev/null
fi
if ! mariadb-admin --socket="$SOCK" -uroot ping >/dev/null 2>&1; then
  nohup mariadbd --no-defaults --user=mysql --datadir="$MYDATA" --socket="$SOCK" --pid-file="$MYDATA/mysqld.pid" \
    --bind-address=127.0.0.1 --port="$MYPORT" --innodb-flush-log-at-trx-commit=0 --skip-log-bin \
    --max-connections=300 --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \
    --log-error="$MYDATA/error.log" >/dev/null 2>&1 &
  for _ in $(seq 1 60); do mariadb-admin --socket="$SOCK" -uroot ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
mariadb --socket="$SOCK" -uroot -e "CREATE USER IF NOT EXISTS 'podium'@'127.0.0.1' IDENTIFIED BY 'podium';
  GRANT ALL ON *.* TO 'podium'@'127.0.0.1';"
echo "mysql://podium:podium@127.0.0.1:$MYPORT/mysql"
