"""The summary of scripts/bench.py: the ratios of its segments, and the markdown table.

Per endpoint: its median round (CPU per request, requests/s) and the medians of the
per-round ratios: floor ratio = the floor's CPU per request / the endpoint's in the same
round (1 or more: cheaper than the floor; reads against the read floor, book and confirm
against the insert floor), and what the rate limits add. The markdown table puts the
targets beside the numbers, with the scenarios' hot vs spread.
"""

import math
import os
import statistics
import subprocess
from dataclasses import dataclass

import harness
from bench_clients import Result
from bench_ratios import ENDPOINTS, Endpoint, Segment

# The targets of issue 13, printed beside the numbers (never an exit status); the floor
# ratios' are the endpoints' own (bench_ratios.ENDPOINTS).
RATE_LIMIT_TARGET_PERCENT = 10
HOT_VS_SPREAD_TARGET = 0.9


def median_of(values) -> float:
    values = [value for value in values if not math.isnan(value)]
    return statistics.median(values) if values else math.nan


def spread_of(values: list[float], fmt: str) -> str:
    """Return ' [min-max]' of values (one per round); empty for fewer than two."""
    values = [value for value in values if not math.isnan(value)]
    if len(values) < 2:
        return ""
    return f" [{format(min(values), fmt)} - {format(max(values), fmt)}]"


def quotient(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


@dataclass
class RatioRow:
    """An endpoint over the rounds, rate limits off (as the floors): its median round, and
    the ratios of every round (to the floor, and of the same endpoint with the rate limits
    on to this)."""

    endpoint: Endpoint
    median: Segment  # the round whose CPU per request is the median
    ratios: list[float]  # per round: the floor's total / this total
    app_ratios: list[float]  # per round: the floor's app / this app
    overheads: list[float]  # per round: % more CPU per request with the rate limits on
    unexpected: int  # answers with an unexpected status, both servers


def summarize(segments: list[Segment]) -> list[RatioRow]:
    """Pair every segment with its floor (and its rate-limits-on twin) of the same round.

    The floors are bare views (no rate limits either way), so an endpoint is held against
    them as measured with the rate limits off, as issue 13 defines the ratios; what the
    rate limits add is its own column. An endpoint measured on one server only is held
    against the floor as it is.
    """
    by = {(s.endpoint, s.server, s.round): s for s in segments if s.round}
    rows = []
    for endpoint in ENDPOINTS:
        server = "off" if endpoint.both_servers else "on"
        measured = sorted(
            (s for s in by.values() if (s.endpoint, s.server) == (endpoint.key, server)),
            key=lambda s: s.round,
        )
        answered = sorted((s for s in measured if s.requests), key=lambda s: s.ms("total"))
        if not answered:
            continue
        ratios, app_ratios, overheads = [], [], []
        for segment in measured:
            floor = by.get((endpoint.floor or endpoint.key, "on", segment.round))
            if floor is not None:
                ratios.append(quotient(floor.ms("total"), segment.ms("total")))
                app_ratios.append(quotient(floor.ms("app"), segment.ms("app")))
            on = by.get((endpoint.key, "on", segment.round))
            if on is not None and server == "off":
                overheads.append(100 * (quotient(on.ms("total"), segment.ms("total")) - 1))
        rows.append(
            RatioRow(
                endpoint=endpoint,
                median=answered[len(answered) // 2],
                ratios=ratios,
                app_ratios=app_ratios,
                overheads=overheads,
                unexpected=sum(
                    sum(s.codes.values()) for s in by.values() if s.endpoint == endpoint.key
                ),
            )
        )
    return rows


def mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def markdown_table(rows: list[RatioRow], scenarios: dict[str, Result]) -> str:
    lines = [
        "| endpoint | CPU ms per request: app + DB + Redis = total | requests/s "
        "| floor ratio | app-only ratio | rate limits on vs off | target |",
        "| --- | --- | ---: | --- | --- | --- | --- |",
    ]
    for row in rows:
        endpoint, median = row.endpoint, row.median
        cpu = (
            f"{median.ms('app'):.2f} + {median.ms('db'):.2f} + {median.ms('redis'):.2f} "
            f"= **{median.ms('total'):.2f}**"
        )
        if endpoint.is_floor:
            ratio, app_ratio, target = "1 (the floor)", "1", ""
        else:
            value = median_of(row.ratios)
            ratio = (
                f"**{value:.2f}x**{spread_of(row.ratios, '.2f')} {mark(value >= endpoint.target)}"
            )
            app_ratio = f"{median_of(row.app_ratios):.2f}x"
            target = f">= {endpoint.target:.1f}x"
        overhead = ""
        if row.overheads:
            value = median_of(row.overheads)
            overhead = (
                f"{value:+.0f} %{spread_of(row.overheads, '+.0f')} "
                f"{mark(value <= RATE_LIMIT_TARGET_PERCENT)}"
            )
            target += f"; <= +{RATE_LIMIT_TARGET_PERCENT} %"
        if row.unexpected:
            ratio += f" ({row.unexpected} unexpected answers)"
        lines.append(
            f"| {endpoint.label} | {cpu} | {median.rate:.0f} | {ratio} | {app_ratio} "
            f"| {overhead} | {target} |"
        )
    if "A" in scenarios and "B" in scenarios:
        spread = scenarios["A"].attempts_per_second
        hot = scenarios["B"].attempts_per_second
        value = quotient(hot, spread)
        lines.append(
            f"| hot vs spread: B flash sale / A spread, attempts/s | | {hot:.0f} / {spread:.0f} "
            f"| **{value:.2f}x** {mark(value >= HOT_VS_SPREAD_TARGET)} | | "
            f"| >= {HOT_VS_SPREAD_TARGET}x |"
        )
    return "\n".join(lines)


def caption(args, version: str, load: float, *, ratios: bool, scenarios: bool) -> str:
    parts = [
        f"Measured on {version}, {os.cpu_count()} CPUs (load average {load:.1f} at the "
        f"start, {os.getloadavg()[0]:.1f} at the end), MariaDB and Redis on the same machine, "
        f"gunicorn {args.workers} workers."
    ]
    if ratios:
        recycling = (
            f"recycled every {args.max_requests} requests" if args.max_requests else "not recycled"
        )
        parts.append(
            "CPU per request answered = gunicorn (master and workers, "
            f"{recycling}) + the MariaDB threads serving it and MariaDB's background "
            "threads + Redis; the load clients are not counted. "
            f"{args.rounds} rounds of {args.segment_seconds:g} s per endpoint, "
            f"{args.ratio_concurrency} clients: CPU and requests/s of the median round; "
            "ratios: the median of the rounds' [range]. Floor ratio = the floor's CPU per "
            "request / the endpoint's with the rate limits off (1 or more: cheaper than the "
            "floor); 'on vs off': the CPU per request the rate limits add, every limit "
            f"counting at {args.throttle_rate}."
        )
    if scenarios:
        parts.append(
            f"Hot vs spread: {args.concurrency} clients, {args.duration:g} s, rate limits "
            f"{'counting' if args.full_stack else 'off'}."
        )
    return " ".join(parts)


def print_ratio_rows(rows: list[RatioRow]) -> None:
    print("\n== ratios: CPU ms per request of the median round (rate limits off) ==")
    print(
        f"  {'endpoint':<50} {'app':>5} {'DB':>5} {'Redis':>5} {'total':>5} {'req/s':>5} "
        f"{'floor ratio':>16} {'app only':>8} {'limits on vs off':>16}"
    )
    for row in rows:
        overhead = f"{median_of(row.overheads):+.0f} %" if row.overheads else ""
        median = row.median
        print(
            f"  {row.endpoint.label:<50.50} {median.ms('app'):5.2f} {median.ms('db'):5.2f} "
            f"{median.ms('redis'):5.2f} {median.ms('total'):5.2f} {median.rate:5.0f} "
            f"{median_of(row.ratios):16.2f} "
            f"{median_of(row.app_ratios):8.2f} {overhead:>16}"
        )


def git_version() -> str:
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=harness.ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "an unknown commit"
    return described.stdout.strip()
