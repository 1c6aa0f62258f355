"""`paysim dlq` on a million failed items: `dlq list` latency, and replay throughput via the processor.

Prints figures, asserts nothing. Starts its own embedded PostgreSQL and Azurite, applies the
migrations, and inserts 1,000,000 pending failed items in one INSERT ... SELECT over generate_series:
valid events of the simulator's default profile (1,000 templates, each copy with a fresh
transaction_id), failed with `event_time_out_of_range` as if a rule since relaxed had refused them,
created over the last day (in statements of 100,000: failed_items' triggers copy each statement's rows
into failed_item_states). Then:

- `dlq list` latency: the services `paysim dlq list` calls (connect, query, models), repeated; the
  newest page (the default: pending, 50), a page by error code, a page deep in the table (--after-id),
  a page of every status by a code no item has, and `dlq stats` once.
- replay throughput: `paysim dlq replay --via processor --batch-size 500` over --replay items (each
  batch: lock, decode, validate, normalize, dedupe, metrics, raw events to Blob, status and history,
  commit), as items replayed per wall-clock second, the CPU each process spent per item, items per
  CPU-second of all three, the load average, and how many of the updates of each table it updates
  (items, their states, the metric rows) were HOT updates.

    .venv/bin/python bench/dlq.py [--items 1000000] [--replay 100000] [--batch-size 500] [--workers 2 1]
        [--repeat 50] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
import psutil
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "function"))

from harness import temporary_stack  # noqa: E402

from paysim_cli.dlq import store  # noqa: E402
from paysim_cli.dlq.models import ItemFilter, ListRequest, ReplayRequest  # noqa: E402
from paysim_cli.dlq.replay import replay_failed_items  # noqa: E402
from paysim_cli.dlq.triage import failed_item_stats, list_failed_items  # noqa: E402
from paysim_cli.settings import Settings  # noqa: E402
from paysim_cli.simulator.generator import EventGenerator  # noqa: E402
from paysim_cli.simulator.profile_store import load_profile  # noqa: E402

TEMPLATES = 1000
INSERT_CHUNK = 100_000

# Copy n of template n % 1000, its transaction id replaced: a million distinct payments in one statement.
INSERT_ITEMS = """
INSERT INTO failed_items (
    raw_payload, stage, error_code, error_message, source_partition, source_sequence_number,
    source_offset, transaction_id, run_id, created_at
)
SELECT convert_to(replace(t.body, t.transaction_id::text, item.transaction_id::text), 'UTF8'),
       'validate', 'event_time_out_of_range',
       'event_time is 7300 s behind the processor''s clock; accepted: up to 3600 s ahead and 3600 s behind',
       (item.n %% 4)::text, item.n, (item.n * 512)::text, item.transaction_id, 'bench',
       statement_timestamp() - (%(items)s - item.n) * (interval '1 day' / %(items)s)
FROM (SELECT n, gen_random_uuid() AS transaction_id FROM generate_series(%(first)s, %(last)s) AS n) AS item
JOIN templates AS t ON t.number = item.n %% %(templates)s
ORDER BY item.n"""


def templates(count: int) -> list[tuple[int, str, str]]:
    """`count` valid events of the default profile, two hours old: (number, body, transaction id)."""
    generator = EventGenerator(
        load_profile(ROOT / "profiles" / "default.yaml"),
        seed=9,
        worker=0,
        run_id="bench",
        start_ms=int(time.time() * 1000) - 2 * 3600 * 1000,
    )
    bodies = generator.block(0, np.arange(count) / 100.0).bodies
    return [
        (number, body.decode(), orjson.loads(body)["transaction_id"]) for number, body in enumerate(bodies)
    ]


def insert_items(database_url: str, items: int) -> None:
    started = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE templates (number int PRIMARY KEY, body text, transaction_id uuid)")
        with conn.cursor().copy("COPY templates FROM STDIN") as copy:
            for row in templates(TEMPLATES):
                copy.write_row(row)
        for first in range(1, items + 1, INSERT_CHUNK):
            last = min(items, first + INSERT_CHUNK - 1)
            conn.execute(INSERT_ITEMS, {"items": items, "first": first, "last": last, "templates": TEMPLATES})
        conn.execute("VACUUM (ANALYZE) failed_items, failed_item_states")
    print(f"inserted {items:,} failed items in {time.perf_counter() - started:,.1f} s (INSERT ... SELECT)")


def latency(label: str, repeat: int, call: Callable[[], object]) -> None:
    call()  # warm: the first call pays for imports and plans
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    median = statistics.median(samples)
    print(f"  {label:<46} median {median:6.1f} ms, p95 {p95:6.1f} ms, max {samples[-1]:6.1f} ms")


def list_latency(settings: Settings, items: int, repeat: int) -> None:
    print(f"dlq list on {items:,} failed items ({repeat} calls each: connect, query, models):")
    where, params = store.conditions(ItemFilter())
    with psycopg.connect(str(settings.database_url), autocommit=True) as conn:
        query = store.list_query(where)
        latency(
            "newest page, the query alone (open connection)",
            repeat,
            lambda: conn.execute(query, {**params, "after_id": None, "limit": 50}).fetchall(),
        )
    newest = ListRequest()
    by_code = ListRequest(filter=ItemFilter(codes=("event_time_out_of_range",)))
    deep = ListRequest(after_id=items // 2)
    # No item has this code: a page per status, each from an index, instead of a scan of every id.
    rare = ListRequest(filter=ItemFilter(status=None, codes=("not_json",)))
    latency("newest page (pending, 50)", repeat, lambda: list_failed_items(settings, newest))
    latency("--code event_time_out_of_range", repeat, lambda: list_failed_items(settings, by_code))
    latency(
        f"--after-id {items // 2:,} (middle of the table)", repeat, lambda: list_failed_items(settings, deep)
    )
    latency("--status all --code not_json (no such item)", repeat, lambda: list_failed_items(settings, rare))
    latency("dlq stats", 3, lambda: failed_item_stats(settings))


def cpu_seconds(pid: int) -> float:
    """CPU time so far of a service: the process, the children it reaped (PostgreSQL's finished
    backends) and its live children."""
    process = psutil.Process(pid)
    times = process.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in process.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += child_times.user + child_times.system
    return total


def replay_throughput(
    settings: Settings, replay: int, batch_size: int, workers: int, profile: bool, services: dict[str, int]
) -> None:
    request = ReplayRequest(batch_size=batch_size, workers=workers, limit=replay, confirmed=True)
    profiler = cProfile.Profile() if profile else None
    service_cpu = {name: cpu_seconds(pid) for name, pid in services.items()}
    updates = table_updates(settings)
    started, client_cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    report = replay_failed_items(settings, request)
    if profiler is not None:
        profiler.disable()
    wall, client_cpu = time.perf_counter() - started, time.process_time() - client_cpu
    time.sleep(1)  # the replay's backends have exited: let the postmaster reap them (their CPU counts then)
    service_cpu = {name: cpu_seconds(services[name]) - used for name, used in service_cpu.items()}
    print(
        f"dlq replay --via processor --batch-size {batch_size} --workers {workers}: "
        f"{report.attempted:,} items "
        f"({report.processed:,} processed, {report.duplicates:,} duplicates, {report.failed:,} failed) "
        f"in {report.batches:,} batches"
    )
    print(
        f"  wall clock: {report.items_per_second:,.0f} items/s over the replay loop "
        f"({report.elapsed_seconds:,.1f} s); "
        f"{report.attempted / wall:,.0f} items/s including the count and set-up ({wall:,.1f} s)"
    )
    spent = {"replay (this process)": client_cpu, **service_cpu}
    per_item = {name: seconds / max(1, report.attempted) * 1e6 for name, seconds in spent.items()}
    print(
        "  CPU per item: "
        + ", ".join(f"{name} {micros:.0f} µs" for name, micros in per_item.items())
        + f"; {report.attempted / max(sum(spent.values()), 1e-9):,.0f} items per CPU-second of all three"
    )
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end")
    hot_updates = []
    for name, (updated_after, hot_after) in table_updates(settings).items():
        updated, hot = updated_after - updates[name][0], hot_after - updates[name][1]
        hot_updates.append(f"{name} {hot:,} of {updated:,} ({100 * hot / max(1, updated):.1f} %)")
    print("  HOT updates: " + ", ".join(hot_updates))
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


# The tables a replay updates: the items' status, their states, and the metrics of their windows.
UPDATED_TABLES = (
    "failed_items",
    "failed_item_states",
    "payment_metrics_5m",
    "aggregate_histograms",
    "dynamic_metrics",
)


def table_updates(settings: Settings) -> dict[str, tuple[int, int]]:
    """Per table a replay updates: its updates so far, and how many were heap-only (HOT: no index
    entry written)."""
    with psycopg.connect(str(settings.database_url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = ANY(%s)",
            (list(UPDATED_TABLES),),
        ).fetchall()
    counts = {str(name): (int(updated), int(hot)) for name, updated, hot in rows}
    return {name: counts.get(name, (0, 0)) for name in UPDATED_TABLES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--replay", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[2, 1], help="replay once per value, --replay items each"
    )
    parser.add_argument("--profile", action="store_true", help="print the cProfile of the replay")
    arguments = parser.parse_args()
    with temporary_stack() as stack:
        settings = stack.settings
        insert_items(stack.database_url, arguments.items)
        list_latency(settings, arguments.items, arguments.repeat)
        services = {"PostgreSQL": stack.postgres_pid, "Azurite": stack.azurite_pid}
        for workers in arguments.workers:
            replay_throughput(
                settings, arguments.replay, arguments.batch_size, workers, arguments.profile, services
            )
        list_latency(settings, arguments.items, arguments.repeat)


if __name__ == "__main__":
    main()
