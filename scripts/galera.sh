#!/usr/bin/env bash
# A 3-node MariaDB Galera cluster on loopback, for tests and measurements.
#
#   scripts/galera.sh up            start the cluster (bootstrap node 1, then 2 and 3); no-op if up
#   scripts/galera.sh down          stop every node (3, 2, then 1: node 1 can bootstrap again)
#   scripts/galera.sh status        one line per node: pid, port, state, cluster size
#   scripts/galera.sh purge         down, then delete the run directory (all data)
#   scripts/galera.sh kill N        kill -9 node N (a crash, for scripts/galera_node_kill_check.py)
#   scripts/galera.sh start N       start node N alone; it joins the running cluster (IST or SST)
#   scripts/galera.sh nodes         print GALERA_NODES for the tests: host:port,host:port,...
#
# Each node is `mariadbd --defaults-file=<its own my.cnf>` with its own datadir, socket,
# pid file, tmpdir and error log under $GALERA_DIR (default: .galera/ in the repository,
# git-ignored). Nothing under /etc is read or written and the machine's own MariaDB
# (3306) is never touched. Ports, all on 127.0.0.1 (see /work/shared/galera-notes.md):
#   SQL 3401-3403, group communication 4567/4577/4587, IST 4568/4578/4588,
#   SST 4444/4454/4464.
# MariaDB root has no password and is reachable over TCP from 127.0.0.1 only, like the
# machine's own MariaDB in CI. Installs galera-4 and rsync with apt-get when missing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
GALERA_DIR=${GALERA_DIR:-$ROOT/.galera}
NODES=(1 2 3)
SQL_PORT_BASE=${GALERA_SQL_PORT_BASE:-3400}   # node N listens on SQL_PORT_BASE + N
PROVIDER=/usr/lib/galera/libgalera_smm.so
CLUSTER_NAME=movie_booking_test
START_TIMEOUT_SECONDS=${GALERA_START_TIMEOUT_SECONDS:-90}
STOP_TIMEOUT_SECONDS=30

say() { printf 'galera: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

sql_port() { echo $((SQL_PORT_BASE + $1)); }
gcomm_port() { echo $((4557 + 10 * $1)); }   # 4567, 4577, 4587
ist_port() { echo $(($(gcomm_port "$1") + 1)); }
sst_port() { echo $((4434 + 10 * $1)); }     # 4444, 4454, 4464
node_dir() { echo "$GALERA_DIR/node$1"; }
cnf() { echo "$(node_dir "$1")/my.cnf"; }
socket() { echo "$(node_dir "$1")/mysqld.sock"; }
pid_file() { echo "$(node_dir "$1")/mysqld.pid"; }

# mariadbd refuses to run as root: as root, the nodes run as the mysql user (which must
# own the datadirs before mariadb-install-db runs); otherwise as the calling user.
if [ "$(id -u)" = 0 ]; then RUN_AS=mysql; else RUN_AS=$(id -un); fi

ensure_packages() {
  local missing=()
  [ -f "$PROVIDER" ] || missing+=(galera-4)
  command -v rsync >/dev/null 2>&1 || missing+=(rsync)
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
  if [ ${#missing[@]} -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}"
    # mariadb-server's package scripts may start the machine's own server: not our business.
  fi
}

write_cnf() {
  local n=$1 dir
  dir=$(node_dir "$n")
  local addresses="127.0.0.1:$(gcomm_port 1),127.0.0.1:$(gcomm_port 2),127.0.0.1:$(gcomm_port 3)"
  cat >"$(cnf "$n")" <<EOF
# Written by scripts/galera.sh: node $n of a loopback test cluster. Do not edit.
[mysqld]
user=$RUN_AS
datadir=$dir/data
socket=$(socket "$n")
pid-file=$(pid_file "$n")
port=$(sql_port "$n")
bind-address=127.0.0.1
tmpdir=$dir/tmp
log-error=$dir/error.log
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
max_connections=300
innodb_buffer_pool_size=64M
innodb_log_file_size=48M
# Required by Galera.
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider=$PROVIDER
wsrep_cluster_name=$CLUSTER_NAME
wsrep_cluster_address=gcomm://$addresses
wsrep_node_name=node$n
wsrep_node_address=127.0.0.1:$(gcomm_port "$n")
wsrep_node_incoming_address=127.0.0.1:$(sql_port "$n")
wsrep_provider_options="base_port=$(gcomm_port "$n");gmcast.listen_addr=tcp://127.0.0.1:$(gcomm_port "$n");ist.recv_addr=127.0.0.1:$(ist_port "$n");gcache.size=64M"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:$(sst_port "$n")
wsrep_slave_threads=2

[client]
socket=$(socket "$n")
port=$(sql_port "$n")
EOF
}

prepare_dirs() {
  mkdir -p "$GALERA_DIR"
  for n in "${NODES[@]}"; do
    mkdir -p "$(node_dir "$n")/data" "$(node_dir "$n")/tmp"
    write_cnf "$n"
  done
  if [ "$RUN_AS" = mysql ]; then
    chown -R mysql:mysql "$GALERA_DIR"
    # mysql must be able to reach the run directory through its parents.
    su -s /bin/sh mysql -c "test -x '$GALERA_DIR'" ||
      die "the mysql user cannot reach $GALERA_DIR; set GALERA_DIR (e.g. under /tmp)"
  fi
}

pid_of() {
  local file
  file=$(pid_file "$1")
  [ -s "$file" ] || return 1
  local pid
  pid=$(cat "$file")
  kill -0 "$pid" 2>/dev/null || return 1
  # A stale pid file whose number was reused by another program is not our node.
  grep -q "$(cnf "$1")" "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

client() {   # client N [mariadb options...]: root on node N's socket
  local n=$1
  shift
  mariadb --no-defaults --socket="$(socket "$n")" --user=root --connect-timeout=3 "$@"
}

status_var() {
  client "$1" --batch --skip-column-names \
    -e "SHOW GLOBAL STATUS LIKE '$2'" 2>/dev/null | awk '{print $2}'
}

node_state() { status_var "$1" wsrep_local_state_comment; }

wait_synced() {
  local n=$1 deadline=$((SECONDS + START_TIMEOUT_SECONDS))
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$LAUNCHED_PID" 2>/dev/null; then
      say "node $n exited while starting; last lines of $(node_dir "$n")/error.log:"
      tail -n 30 "$(node_dir "$n")/error.log" >&2 || true
      return 1
    fi
    # The pid file and the socket come a moment after the process.
    if pid_of "$n" >/dev/null && [ "$(node_state "$n")" = Synced ]; then
      return 0
    fi
    sleep 0.5
  done
  say "node $n not Synced after ${START_TIMEOUT_SECONDS}s; last lines of its error.log:"
  tail -n 30 "$(node_dir "$n")/error.log" >&2 || true
  return 1
}

launch() {   # launch N [extra mariadbd options]: start in the background, detached
  local n=$1
  shift
  rm -f "$(pid_file "$n")"
  # setsid: the node outlives the shell (or make) that started it.
  setsid /usr/sbin/mariadbd --defaults-file="$(cnf "$n")" "$@" \
    </dev/null >>"$(node_dir "$n")/stdout.log" 2>&1 &
  LAUNCHED_PID=$!
}

install_first_node() {
  say "node 1: mariadb-install-db"
  mariadb-install-db --no-defaults --user="$RUN_AS" --datadir="$(node_dir 1)/data" \
    --auth-root-authentication-method=normal --skip-test-db >"$(node_dir 1)/install.log" 2>&1 ||
    { cat "$(node_dir 1)/install.log" >&2; die "mariadb-install-db failed"; }
}

safe_to_bootstrap() {
  grep -q '^safe_to_bootstrap: 1' "$(node_dir "$1")/data/grastate.dat" 2>/dev/null
}

running_nodes() {
  local n
  for n in "${NODES[@]}"; do pid_of "$n" >/dev/null && echo "$n"; done
  return 0
}

start_node() {   # start_node N: join the cluster that is running
  local n=$1
  if pid_of "$n" >/dev/null; then
    say "node $n already running"
    return 0
  fi
  [ -n "$(running_nodes)" ] || die "no node is running: use 'up' to bootstrap the cluster"
  local position started=$SECONDS
  position=$(recovered_position "$n")
  if [ -n "$position" ]; then
    say "node $n: joining from recovered position $position (port $(sql_port "$n"))"
    launch "$n" --wsrep-start-position="$position"
  else
    say "node $n: joining (port $(sql_port "$n"))"
    launch "$n"
  fi
  wait_synced "$n"
  say "node $n: Synced after $((SECONDS - started))s"
}

recovered_position() {
  # After a crash grastate.dat says seqno -1 and the node would need a full state
  # transfer (SST: a copy of a donor's datadir, which rsync makes with the donor locked).
  # InnoDB knows the last transaction it committed: recovered, that position lets the
  # node catch up with only the write sets it missed (IST, from a donor's gcache), as
  # the galera_recovery step of MariaDB's systemd unit does.
  local n=$1 log
  grep -q '^seqno: *-1' "$(node_dir "$n")/data/grastate.dat" 2>/dev/null || return 0
  log="$(node_dir "$n")/recover.log"
  rm -f "$log"
  /usr/sbin/mariadbd --defaults-file="$(cnf "$n")" --wsrep-recover --log-error="$log" \
    </dev/null >/dev/null 2>&1 || true
  sed -n 's/.*WSREP: Recovered position: *\([^ ]*\).*/\1/p' "$log" 2>/dev/null | tail -n 1
}

cmd_up() {
  ensure_packages
  local started=$SECONDS running
  running=$(running_nodes)
  prepare_dirs
  if [ -z "$running" ]; then
    local first=1
    if [ ! -d "$(node_dir 1)/data/mysql" ]; then
      install_first_node
    else
      # Bootstrap from the node that stopped last (it has every commit); after a crash
      # of all three none is marked, and node 1 is forced (a test cluster: fine).
      first=
      for n in "${NODES[@]}"; do safe_to_bootstrap "$n" && { first=$n; break; }; done
      if [ -z "$first" ]; then
        first=1
        say "no node is marked safe to bootstrap; forcing node 1"
        sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' "$(node_dir 1)/data/grastate.dat"
      fi
    fi
    say "node $first: bootstrapping a new cluster (port $(sql_port "$first"))"
    launch "$first" --wsrep-new-cluster
    wait_synced "$first"
    grant_tcp_root_on "$first"
  fi
  # The others one at a time: each joins by state transfer from a node that is Synced.
  for n in "${NODES[@]}"; do
    pid_of "$n" >/dev/null || start_node "$n"
  done
  local size
  size=$(status_var 1 wsrep_cluster_size)
  [ "$size" = ${#NODES[@]} ] || die "cluster size is ${size:-unknown}, expected ${#NODES[@]}"
  say "up: ${#NODES[@]} nodes Synced, Primary, on ports $(sql_port 1)-$(sql_port 3) ($((SECONDS - started))s)"
}

grant_tcp_root_on() {
  # root over TCP from 127.0.0.1 with no password (skip-name-resolve: 'localhost' is the
  # socket only). Replicated to the other nodes, like any account change.
  client "$1" -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
    GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
}

stop_node() {   # stop_node N [signal]
  local n=$1 signal=${2:-TERM} pid deadline
  pid=$(pid_of "$n") || return 0
  kill "-$signal" "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT_SECONDS))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      say "node $n (pid $pid) did not stop in ${STOP_TIMEOUT_SECONDS}s: kill -9"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.2
  done
  [ "$signal" = KILL ] || rm -f "$(pid_file "$n")"
}

cmd_down() {
  local n
  # Reverse order: node 1 stops last, so it is the one marked safe to bootstrap.
  for n in 3 2 1; do
    if pid_of "$n" >/dev/null; then
      say "node $n: stopping"
      stop_node "$n"
    fi
  done
  say "down"
}

cmd_status() {
  local n pid any=0
  printf '%-5s %-8s %-6s %-10s %-8s %-8s\n' node pid port state size status
  for n in "${NODES[@]}"; do
    if pid=$(pid_of "$n"); then
      any=1
      printf '%-5s %-8s %-6s %-10s %-8s %-8s\n' "$n" "$pid" "$(sql_port "$n")" \
        "$(node_state "$n" || true)" "$(status_var "$n" wsrep_cluster_size || true)" \
        "$(status_var "$n" wsrep_cluster_status || true)"
    else
      printf '%-5s %-8s %-6s %-10s\n' "$n" - "$(sql_port "$n")" stopped
    fi
  done
  [ $any = 1 ]
}

cmd_purge() {
  cmd_down
  case "$GALERA_DIR" in
    "" | / | "$HOME" | "$ROOT") die "refusing to delete GALERA_DIR=$GALERA_DIR" ;;
  esac
  rm -rf "$GALERA_DIR"
  say "purged $GALERA_DIR"
}

cmd_nodes() {
  local list=() n
  for n in "${NODES[@]}"; do list+=("127.0.0.1:$(sql_port "$n")"); done
  (IFS=,; echo "${list[*]}")
}

node_arg() {
  case "${1:-}" in
    1 | 2 | 3) echo "$1" ;;
    *) die "which node? 1, 2 or 3" ;;
  esac
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  purge) cmd_purge ;;
  kill) n=$(node_arg "${2:-}"); say "node $n: kill -9"; stop_node "$n" KILL ;;
  start) start_node "$(node_arg "${2:-}")" ;;
  nodes) cmd_nodes ;;
  *)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
