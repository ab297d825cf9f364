"""Measure booking on a MariaDB Galera cluster: all writes on one node vs spread over three.

Not a test: it measures, for the README's "Scaling" table. For each layout it recreates
the database `bench_galera`, seeds it like scripts/bench.py, starts SERVERS gunicorn
servers and runs scenarios with clients spread evenly over the servers:

  single     the machine's own MariaDB (127.0.0.1:3306, no Galera): the baseline
  one-node   the cluster, every server on node 1 (one writer; the others replicate)
  spread     the cluster, server i on node i (writes on every node)
  spread+sw  as spread, with DB_WSREP_SYNC_WAIT=1 (reads wait for the cluster)

Scenarios (scripts/bench.py): A spread (1-4 random free-looking seats of many shows),
B flash sale (1-4 of the best 20 free seats of one hot show, until sold out), D best
seats (the service picks the best block, until sold out). Per layout and scenario it
prints bookings/s, attempts/s, 409s, 503s, p50/p99 latency, the lock conflicts the
services retried (per 1,000 bookings, from the servers' logs), the cluster's
certification failures and brute-force aborts, and the CPU each part used (of all the
machine's CPUs), then checks the database like bench.py does.

    .venv/bin/python scripts/galera_bench.py --duration 15 --layouts single,one-node,spread

Needs `scripts/galera.sh up` for the cluster layouts; root without a password.
"""

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

import bench
import harness

SINGLE = ("127.0.0.1", 3306)
NODES = [("127.0.0.1", 3401), ("127.0.0.1", 3402), ("127.0.0.1", 3403)]
LAYOUTS = {
    "single": ([SINGLE] * 3, {}),
    "one-node": ([NODES[0]] * 3, {}),
    "spread": (NODES, {}),
    "spread+sw": (NODES, {"DB_WSREP_SYNC_WAIT": "1"}),
}
DB_NAME = "bench_galera"
CONFLICT_LINE = re.compile(r"lock conflict \(attempt")
STATUS_COUNTERS = ("wsrep_local_cert_failures", "wsrep_local_bf_aborts")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layouts", default="single,one-node,spread,spread+sw")
    parser.add_argument("--scenarios", default="A,B,D", help="of A, B, D (default all)")
    parser.add_argument("--servers", type=int, default=3, help="gunicorn servers (3)")
    parser.add_argument("--workers", type=int, default=2, help="workers per server (2)")
    parser.add_argument("--concurrency", type=int, default=24, help="HTTP clients (24)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per scenario")
    parser.add_argument("--shows", type=int, default=100)
    parser.add_argument("--seats", type=int, default=120)
    parser.add_argument("--hot-seats", type=int, default=300)
    parser.add_argument("--users", type=int, default=48)
    args = parser.parse_args()
    args.requests = None  # bench.Budget: by duration
    args.seat_limit = 0
    return args


# --- Measuring the machine ------------------------------------------------------------


def cpu_seconds(*, pattern: str = "", groups: frozenset[int] = frozenset()) -> float:
    """CPU seconds (user + system) used so far by the processes whose command matches
    pattern, or whose process group is one of groups."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            if groups:
                if int(fields[2]) not in groups:  # pgrp
                    continue
            else:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                if not re.search(pattern, cmdline.decode()):
                    continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return total / ticks


def cpu_sample(galera: bool, servers) -> dict[str, float]:
    """CPU seconds so far of the database servers, our gunicorn servers and this process."""
    database = r"mariadbd --defaults-file=\S*\.galera/" if galera else r"^/usr/sbin/mariadbd\s*$"
    groups = frozenset(server.proc.pid for server in servers if server.proc)
    usage = os.times()
    return {
        "mariadb": cpu_seconds(pattern=database),
        "gunicorn": cpu_seconds(groups=groups),
        "clients": usage.user + usage.system,
    }


def node_counters(nodes) -> Counter:
    import MySQLdb

    counts = Counter()
    for host, port in set(nodes):
        conn = MySQLdb.connect(host=host, port=port, user="root", passwd="", connect_timeout=3)
        try:
            cursor = conn.cursor()
            cursor.execute("SHOW GLOBAL STATUS WHERE Variable_name IN (%s, %s)", STATUS_COUNTERS)
            for name, value in cursor.fetchall():
                counts[name.lower()] += int(value)
        finally:
            conn.close()
    return counts


def conflicts_logged(servers) -> int:
    total = 0
    for server in servers:
        with contextlib.suppress(OSError):
            total += len(CONFLICT_LINE.findall(server.log_path.read_text(errors="replace")))
    return total


# --- One scenario over several servers ------------------------------------------------


def run(name, *, seat_map, tokens, args, ports, send) -> bench.Result:
    """bench.run_scenario, with client n talking to ports[n % len(ports)]."""
    return bench.run_scenario(
        name,
        seat_map=seat_map,
        tokens=tokens,
        args=args,
        stop=threading.Event(),
        server=None,
        results=[],
        send=send,
        ports=ports,
    )


# --- One layout -----------------------------------------------------------------------


def recreate_database(host: str, port: int) -> None:
    import MySQLdb

    conn = MySQLdb.connect(host=host, port=port, user="root", passwd="", connect_timeout=5)
    try:
        cursor = conn.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS `{DB_NAME}`")
        cursor.execute(f"CREATE DATABASE `{DB_NAME}` CHARACTER SET utf8mb4")
    finally:
        conn.close()


def measure_layout(layout: str, args) -> list[dict]:
    nodes, extra = LAYOUTS[layout]
    nodes = [nodes[n % len(nodes)] for n in range(args.servers)]
    admin_host, admin_port = nodes[0]
    recreate_database(admin_host, admin_port)
    env = harness.mysql_env(
        DB_NAME, db_host=admin_host, db_port=admin_port, MAX_SEATS_PER_USER_PER_SHOW="0"
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=harness.ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    # A fresh interpreter per layout seeds it (Django is configured once per process).
    log_dir = Path(tempfile.mkdtemp(prefix=f"galera-bench-{layout}-"))
    servers = [
        harness.Server(
            f"{layout}-{n}",
            harness.mysql_env(
                DB_NAME, db_host=host, db_port=port, MAX_SEATS_PER_USER_PER_SHOW="0", **extra
            ),
            log_dir,
            workers=args.workers,
        )
        for n, (host, port) in enumerate(nodes)
    ]
    rows = []
    try:
        for server in servers:
            server.spawn()
        seeded = bench.seed(args)
        for server in servers:
            server.wait_ready()
        ports = [server.port for server in servers]
        tokens = bench.log_in(ports[0], seeded.usernames, args.concurrency)
        scenarios = {
            "A": (bench.SeatMap(seeded.spread_shows), bench.book),
            "B": (
                bench.SeatMap({seeded.hot_show: args.hot_seats}, bench.FLASH_SALE_BEST_SEATS),
                bench.book,
            ),
            "D": (bench.BestSeatsWanted(seeded.laid_out_show), bench.best_available),
        }
        results = []
        galera = layout != "single"
        for scenario in args.scenarios.split(","):
            seat_map, send = scenarios[scenario]
            before_cpu = cpu_sample(galera, servers)
            before_conflicts = conflicts_logged(servers)
            before_counters = node_counters(NODES) if galera else Counter()
            result = run(
                f"{layout} {scenario}",
                seat_map=seat_map,
                tokens=tokens,
                args=args,
                ports=ports,
                send=send,
            )
            after_cpu = cpu_sample(galera, servers)
            results.append(result)
            counters = (node_counters(NODES) if galera else Counter()) - before_counters
            bookings = len(result.booked)
            conflicts = conflicts_logged(servers) - before_conflicts
            cpus = os.cpu_count() * result.elapsed
            latencies = sorted(result.latencies_ms)
            rows.append(
                {
                    "layout": layout,
                    "scenario": scenario,
                    "bookings/s": bookings / result.elapsed,
                    "attempts/s": result.attempts / result.elapsed,
                    "409": result.statuses[409],
                    "503": result.statuses[503],
                    "p50": bench.percentile(latencies, 0.5),
                    "p99": bench.percentile(latencies, 0.99),
                    "retried/1000": 1000 * conflicts / max(bookings, 1),
                    "cert": counters["wsrep_local_cert_failures"],
                    "bf": counters["wsrep_local_bf_aborts"],
                    **{
                        f"cpu {part}": 100 * (after_cpu[part] - before_cpu[part]) / cpus
                        for part in after_cpu
                    },
                }
            )
            bench.report(result, f"{layout}: {len(servers)} servers on {sorted(set(nodes))}")
        # Check on node 1 once it has caught up with the others.
        if galera:
            from booking.services.transactions import catch_up

            catch_up()
        problems = bench.check_integrity(results)
        for problem in problems[:10]:
            print(f"  FAIL {problem}")
        if problems:
            raise SystemExit(f"{layout}: the database is inconsistent")
        print(f"  {layout}: integrity ok")
    finally:
        for server in servers:
            server.stop()
    shutil.rmtree(log_dir, ignore_errors=True)
    return rows


def print_table(rows: list[dict]) -> None:
    columns = list(rows[0])
    print("\n| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = [f"{v:.1f}" if isinstance(v, float) else str(v) for v in row.values()]
        print("| " + " | ".join(cells) + " |")


def main() -> int:
    args = parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    layouts = args.layouts.split(",")
    if len(layouts) > 1:
        # One process per layout: Django's settings (the database) are fixed per process.
        rows = []
        for layout in layouts:
            out = subprocess.run(
                [sys.executable, __file__, *sys.argv[1:], "--layouts", layout],
                capture_output=True,
                text=True,
                check=False,
                timeout=3600,
            )
            print(out.stdout, end="")
            if out.returncode:
                print(out.stderr[-3000:])
                return out.returncode
            rows += eval_rows(out.stdout)
        print("\n== all layouts")
        print_table(rows)
        return 0
    layout = layouts[0]
    host, port = LAYOUTS[layout][0][0]
    env = harness.mysql_env(DB_NAME, db_host=host, db_port=port, MAX_SEATS_PER_USER_PER_SHOW="0")
    harness.setup_django(env)
    rows = measure_layout(layout, args)
    print_table(rows)
    print("ROWS " + repr(rows))
    return 0


def eval_rows(stdout: str) -> list[dict]:
    import ast

    for line in stdout.splitlines():
        if line.startswith("ROWS "):
            return ast.literal_eval(line[5:])
    return []


if __name__ == "__main__":
    sys.exit(main())
