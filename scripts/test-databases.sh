#!/usr/bin/env bash
# Installs, configures and starts the two database servers the connection-leak tests use:
# PostgreSQL on 127.0.0.1:5432 and MariaDB on 127.0.0.1:3306, each with a role `oomkit` (password
# `oomkit`) owning a database `oomkit`. The tests read OOMKIT_TEST_PG_URL and OOMKIT_TEST_MYSQL_URL,
# whose defaults match what this script sets up.
#
# Idempotent: run it again and it only starts what is down. Needs root (or sudo) and Debian's
# package archive; no systemd needed (pg_ctlcluster, mysqld_safe). Works on a fresh Debian 12.
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
say() { echo "test-databases: $*"; }

# ---- packages ---------------------------------------------------------------------------------
need=()
command -v pg_ctlcluster >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # policy-rc.d 101: the packages' postinst must not try to start services (no init system here);
  # this script starts them itself below.
  policy_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    policy_added=1
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  [ "$policy_added" -eq 0 ] || $SUDO rm -f /usr/sbin/policy-rc.d
else
  say "postgresql and mariadb-server already installed"
fi

# ---- PostgreSQL --------------------------------------------------------------------------------
PG_VERSION="$(ls /usr/lib/postgresql | sort -V | tail -1)"
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$PG_VERSION main"; then
  say "creating PostgreSQL $PG_VERSION cluster main"
  $SUDO pg_createcluster "$PG_VERSION" main --port 5432 >/dev/null
fi
PG_STATUS="$(pg_lsclusters -h | awk -v v="$PG_VERSION" '$1==v && $2=="main" {print $4}')"
if [ "$PG_STATUS" != "online" ]; then
  say "starting PostgreSQL $PG_VERSION/main"
  $SUDO pg_ctlcluster "$PG_VERSION" main start
else
  say "PostgreSQL $PG_VERSION/main already running"
fi
for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.5
done
pg_isready -h 127.0.0.1 -p 5432 >/dev/null || { say "PostgreSQL does not accept connections on 127.0.0.1:5432"; exit 1; }
if [ -z "$SUDO" ]; then AS_PG="runuser -u postgres --"; else AS_PG="sudo -u postgres"; fi
psql_admin() { (cd /tmp && $AS_PG psql -X -q -v ON_ERROR_STOP=1 "$@"); }
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'oomkit'")" != "1" ]; then
  say "creating PostgreSQL role oomkit"
  psql_admin -c "CREATE ROLE oomkit LOGIN PASSWORD 'oomkit'"
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = 'oomkit'")" != "1" ]; then
  say "creating PostgreSQL database oomkit"
  psql_admin -c "CREATE DATABASE oomkit OWNER oomkit"
fi
PGPASSWORD=oomkit psql -X -q -h 127.0.0.1 -p 5432 -U oomkit -d oomkit -tAc 'SELECT 1' >/dev/null
say "PostgreSQL ready: postgres://oomkit:oomkit@127.0.0.1:5432/oomkit"

# ---- MariaDB -----------------------------------------------------------------------------------
mysql_ping() { mysqladmin --protocol=socket -uroot ping >/dev/null 2>&1; }
if ! mysql_ping; then
  if [ ! -d /var/lib/mysql/mysql ]; then
    say "initialising the MariaDB data directory"
    $SUDO mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db >/dev/null
  fi
  $SUDO install -d -o mysql -g mysql -m 755 /run/mysqld
  say "starting MariaDB on 127.0.0.1:3306"
  # mysqld_safe restarts mariadbd if it dies; its own output goes to the server's error log.
  $SUDO sh -c 'nohup mysqld_safe --bind-address=127.0.0.1 --port=3306 >/dev/null 2>&1 &'
  for _ in $(seq 1 120); do
    mysql_ping && break
    sleep 0.5
  done
  mysql_ping || { say "MariaDB did not start (see /var/log/mysql/error.log or /var/lib/mysql/*.err)"; exit 1; }
else
  say "MariaDB already running"
fi
$SUDO mariadb --protocol=socket -uroot <<'SQL'
CREATE DATABASE IF NOT EXISTS oomkit;
CREATE USER IF NOT EXISTS 'oomkit'@'127.0.0.1' IDENTIFIED BY 'oomkit';
CREATE USER IF NOT EXISTS 'oomkit'@'localhost' IDENTIFIED BY 'oomkit';
GRANT ALL PRIVILEGES ON oomkit.* TO 'oomkit'@'127.0.0.1';
GRANT ALL PRIVILEGES ON oomkit.* TO 'oomkit'@'localhost';
FLUSH PRIVILEGES;
SQL
for _ in $(seq 1 40); do
  mariadb -h 127.0.0.1 -P 3306 -uoomkit -poomkit oomkit -e 'SELECT 1' >/dev/null 2>&1 && break
  sleep 0.5
done
mariadb -h 127.0.0.1 -P 3306 -uoomkit -poomkit oomkit -e 'SELECT 1' >/dev/null
say "MariaDB ready: mysql://oomkit:oomkit@127.0.0.1:3306/oomkit"
