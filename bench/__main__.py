"""`python -m bench [--quick]`: every WalkWell measurement beside its baseline, as one table.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth); creates and drops the database
`walkwell_bench`. The table is printed and written to bench/results/latest.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import data, startup, throughput, workers
from bench.standproc import stand_process

RESULTS = Path(__file__).resolve().parent / "results" / "latest.txt"


@dataclass(frozen=True)
class Sizes:
    pg_people: tuple[int, ...]  # WalkWell start-up on PostgreSQL
    pg_naive: tuple[int, ...]  # the naive bot on PostgreSQL (a subset of pg_people)
    sqlite_people: tuple[int, ...]
    sqlite_naive: tuple[int, ...]
    peak: int  # reminders due in the same minute
    one_by_one: int  # sample for the one-row-per-transaction baseline
    sends: int  # Sender with limits off
    sequential: int  # plain send_message baseline
    limited: int  # Sender with Telegram's limits on (~10 s at 30/s)
    day_people: int  # a normal day's load
    cap_reminders: int  # three workers at the cap
    reply_peak: int  # reminders drained while people wait for replies


FULL = Sizes(
    pg_people=(10_000, 50_000, 100_000, 200_000, 1_000_000),
    pg_naive=(10_000, 50_000, 200_000),
    sqlite_people=(10_000, 100_000),
    sqlite_naive=(10_000, 100_000),
    peak=100_000,
    one_by_one=2_000,
    sends=10_000,
    sequential=2_000,
    limited=300,
    day_people=2_000,
    cap_reminders=1_500,
    reply_peak=2_000,
)
QUICK = Sizes(
    pg_people=(10_000, 50_000),
    pg_naive=(10_000, 50_000),
    sqlite_people=(10_000, 50_000),
    sqlite_naive=(10_000,),
    peak=20_000,
    one_by_one=500,
    sends=3_000,
    sequential=1_000,
    limited=150,
    day_people=300,
    cap_reminders=600,
    reply_peak=600,
)


METHOD = [
    "start-up: `python -m bot run --no-migrate` (naive: `python -m bench.naive_bot`, one PTB "
    "run_daily job per rule) as a child process; wall time from spawn until the stand (in the "
    "bench process) holds its first long poll, PostgreSQL checkpointed after each seed; peak RSS "
    "= VmHWM 1 s after that",
    "claim: Dispatcher.tick() with a counting submit and the default settings (batches of 2,500, "
    "three lanes), after bot.app.settle_gc() as at start-up and a CHECKPOINT after seeding (so "
    "every page's first change is written whole to the WAL, as on a real morning); baseline: the "
    "same tick with "
    "WALKWELL_CLAIM_BATCH=1 (SELECT one row, UPDATE, INSERT, commit, per row); each run three "
    "times, alternately, on a freshly seeded table; median (and range) shown",
    "sending: the stand runs in a second process; jobs.delivery.Sender with the production Bot "
    "(build_application: AiohttpRequest, 8 sends in flight), outcomes written to PostgreSQL; "
    "baselines: sequential bot.send_message with the same Bot, and with PTB's default HTTPXRequest",
    "lateness: dispatcher + Sender + stand with limits on; a clock that runs at real speed and "
    "jumps over idle time to the next due instant; ideal = same due instants through a perfect "
    "30/s FIFO",
]


@dataclass(frozen=True)
class Row:
    measurement: str
    size: str
    walkwell: str
    baseline: str
    ratio: str
    target: str
    met: str


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self,
        measurement: str,
        size: str,
        walkwell: str,
        baseline: str = "-",
        ratio: float | None = None,
        target: str = "",
        met: bool | None = None,
    ) -> None:
        shown = "-" if ratio is None else f"{ratio:,.1f}x"
        verdict = "" if met is None else ("yes" if met else "NO")
        self.rows.append(Row(measurement, size, walkwell, baseline, shown, target, verdict))
        print(f"  {measurement} [{size}]: {walkwell} | baseline {baseline} | {shown}", flush=True)

    def table(self) -> str:
        header = Row("measurement", "size", "WalkWell", "baseline", "ratio", "target", "met")
        rows = [header, *self.rows]
        cols = list(zip(*(vars(r).values() for r in rows), strict=True))
        widths = [max(len(v) for v in col) for col in cols]
        lines = []
        for n, row in enumerate(rows):
            cells = [v.ljust(w) for v, w in zip(vars(row).values(), widths, strict=True)]
            lines.append("  ".join(cells).rstrip())
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines + [""] + [f"* {note}" for note in self.notes + METHOD])


def people(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


async def startup_rows(
    report: Report,
    db: str,
    url: str,
    sizes: tuple[int, ...],
    naive: tuple[int, ...],
    seed: Callable[[int, int], Awaitable[None]],
    due_now: Callable[[], Awaitable[int]],
) -> None:
    """Seed up to each size in turn; start WalkWell (and the naive bot where asked) at each."""
    seeded = 0
    for n in sizes:
        began = time.perf_counter()
        await seed(seeded, n - seeded)
        report.notes.append(
            f"{db}: seeded {people(n)} people x 4 rules "
            f"(+{people(n - seeded)} in {time.perf_counter() - began:.1f} s); "
            f"{await due_now():,} reminders due when WalkWell started (its first tick sends them)"
        )
        seeded = n
        ours = await startup.measure_startup(startup.WALKWELL, url)
        base = await startup.measure_startup(startup.NAIVE, url) if n in naive else None
        label = f"{people(n)} x4"
        strict = n == 200_000
        report.add(
            f"start-up to first getUpdates, {db}",
            label,
            f"{ours.seconds:.2f} s",
            f"{base.seconds:.2f} s naive" if base else "not run (time)",
            base.seconds / ours.seconds if base else None,
            "<2 s" + ("; >=30x" if strict else ""),
            ours.seconds < 2 and (not strict or base is None or base.seconds / ours.seconds >= 30),
        )
        report.add(
            f"peak RSS (VmHWM), {db}",
            label,
            f"{ours.peak_mb:.0f} MB",
            f"{base.peak_mb:.0f} MB naive" if base else "not run (time)",
            base.peak_mb / ours.peak_mb if base else None,
            "<150 MB" + ("; >=5x" if strict else ""),
            ours.peak_mb < 150 and (not strict or base is None or base.peak_mb / ours.peak_mb >= 5),
        )


async def seed_settled(first: int, count: int) -> None:
    """Seed PostgreSQL, then flush it, so the start-up measured next does not share the disk
    with PostgreSQL writing out the seed."""
    await data.seed_pg(first, count, now=datetime.now(UTC))
    await data.checkpoint_pg()


async def run(sizes: Sizes, only: str | None = None) -> Report:
    report = Report()
    url = await data.create_pg()
    try:
        if only == "workers":
            await worker_rows(report, url, sizes)
            return report
        await startup_rows(
            report, "PostgreSQL", url, sizes.pg_people, sizes.pg_naive, seed_settled, data.due_pg
        )  # fmt: skip
        await data.truncate_pg()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.db"
            sqlite_url = await data.create_sqlite(path)
            await startup_rows(
                report, "SQLite", sqlite_url, sizes.sqlite_people, sizes.sqlite_naive,
                lambda first, n: asyncio.to_thread(
                    data.seed_sqlite, path, first, n, now=datetime.now(UTC)
                ),
                lambda: asyncio.to_thread(data.due_sqlite, path),
            )  # fmt: skip
        await claim_rows(report, url, sizes)
        await sender_rows(report, url, sizes)
        await triage_rows(report, sizes)
        await worker_rows(report, url, sizes)
    finally:
        await data.drop_pg()
    return report


CLAIM_REPEATS = 3  # the claim is measured this many times, alternating with the baseline


def median_rate(runs: list[throughput.Claim]) -> tuple[throughput.Claim, str]:
    """The median run, and the range of all runs as text."""
    ordered = sorted(runs, key=lambda c: c.rate)
    return ordered[len(ordered) // 2], f"{ordered[0].rate:,.0f}-{ordered[-1].rate:,.0f}"


async def claim_rows(report: Report, url: str, sizes: Sizes) -> None:
    """3. The morning peak: claim + advance + render in one tick, against one row per transaction;
    each measured CLAIM_REPEATS times, alternately (this VM's speed drifts), the median shown."""
    ours_runs: list[throughput.Claim] = []
    base_runs: list[throughput.Claim] = []
    for _ in range(CLAIM_REPEATS):
        ours_runs.append(await throughput.claim_peak(url, sizes.peak))
        base_runs.append(await throughput.claim_peak(url, sizes.one_by_one, batch=1))
    ours, ours_range = median_rate(ours_runs)
    base, base_range = median_rate(base_runs)
    report.add(
        f"claim+advance+render, PostgreSQL, one tick (median of {CLAIM_REPEATS})",
        f"{people(sizes.peak)} due",
        f"{ours.rate:,.0f} /s ({ours_range})",
        f"{base.rate:,.0f} /s ({base_range}) 1 row/txn ({sizes.one_by_one:,})",
        ours.rate / base.rate,
        ">=30,000 /s",
        ours.rate >= 30_000,
    )
    report.add(
        "each reminder claimed exactly once, every run",
        f"{people(sizes.peak)} due",
        f"{ours.distinct_ids:,} ids / {ours.recorded:,} rows",
        f"{base.distinct_ids:,} / {base.recorded:,}",
        None,
        "ids = rows = rules",
        all(run.exactly_once for run in ours_runs + base_runs),
    )


async def sender_rows(report: Report, url: str, sizes: Sizes) -> None:
    """4. and 5. Sending against the stand (in its own process), limits off and on; the day."""
    async with stand_process(data.CHAT_BASE, max(sizes.sends, sizes.day_people)) as stand:
        fast = await throughput.send_with_sender(url, stand, sizes.sends, limits=False, rate=1e6)
        plain = await throughput.send_sequentially(url, stand, sizes.sequential)
        ptb_default = await throughput.send_sequentially(url, stand, sizes.sequential, httpx=True)
        report.add(
            "sequential send_message, WalkWell's AiohttpRequest",
            f"{sizes.sequential:,} msgs",
            f"{plain.rate:,.0f} msg/s",
            f"{ptb_default.rate:,.0f} msg/s PTB's HTTPXRequest",
            plain.rate / ptb_default.rate,
        )
        report.add(
            "Sender, limits off (rate 1e6, 1000/s per chat)",
            f"{sizes.sends:,} msgs",
            f"{fast.rate:,.0f} msg/s",
            f"{plain.rate:,.0f} msg/s sequential",
            fast.rate / plain.rate,
            ">=1,000 msg/s",
            fast.rate >= 1000 and fast.recorded == sizes.sends,
        )
        report.notes.append(
            f"stand process busy {fast.stand.busy:.0%} of a core during the Sender run "
            f"(concurrency {fast.concurrency}), "
            f"{plain.stand.busy:.0%} during the sequential run; "
            f"{fast.recorded:,}/{sizes.sends:,} deliveries recorded as sent"
        )
        capped = await throughput.send_with_sender(url, stand, sizes.limited, limits=True)
        naive = await throughput.send_sequentially(url, stand, sizes.limited, limits=True)
        report.add(
            "Sender, Telegram limits on: rate",
            f"{sizes.limited} msgs",
            f"{capped.stand.rate:.1f} msg/s",
            f"{naive.stand.rate:.1f} msg/s sequential",
            None,
            "~30 msg/s",
            27 <= capped.stand.rate <= 31,
        )
        report.add(
            "Sender, Telegram limits on: 429 answers",
            f"{capped.seconds:.1f} s",
            f"{capped.stand.too_many} (busiest 1 s: {capped.stand.busiest_second})",
            f"{naive.stand.too_many} lost (busiest 1 s: {naive.stand.busiest_second})",
            None,
            "0",
            capped.stand.too_many == 0 and capped.recorded == sizes.limited,
        )
        day = await throughput.normal_day(url, stand, sizes.day_people, data.normal_day)
    for name, ours, ideal in (
        ("p50", day.p50_ms, day.ideal_p50_ms),
        ("p99", day.p99_ms, day.ideal_p99_ms),
    ):
        report.add(
            f"lateness {name} (sent - due), normal day, limits on",
            f"{sizes.day_people:,} people",
            f"{ours / 1000:.1f} s",
            f"{ideal / 1000:.1f} s ideal 30/s queue",
            ours / ideal if ideal else None,
            "close to ideal",
            None,
        )
    report.add(
        "429 answers, normal day, limits on",
        f"{sizes.day_people:,} people",
        f"{day.stand.too_many} (busiest 1 s: {day.stand.busiest_second})",
        "-",
        None,
        "0",
        day.stand.too_many == 0,
    )
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(day.statuses.items()))
    report.notes.append(
        f"normal day: {day.reminders:,} reminders ({statuses}); max lateness "
        f"{day.max_ms / 1000:.1f} s; {day.stand.too_many} 429s; busiest second "
        f"{day.stand.busiest_second}; {day.wall_seconds:.0f} s of wall time"
    )


async def triage_rows(report: Report, sizes: Sizes) -> None:
    """The red-flag layer in its own process: latency per message (up to 300 characters) and
    the RSS it adds."""
    n = 300 if sizes is FULL else 100
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.triage", str(n), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    r = json.loads(out.decode().strip().splitlines()[-1])
    size = f"{r['messages']} msgs, {r['mean_chars']} ch"
    report.add(
        "red-flag layer latency p50, <=300 chars", size, f"{r['layer_p50_ms']:.1f} ms",
        f"{r['lexicon_p50_ms']:.2f} ms lexicon alone", r["layer_p50_ms"] / r["lexicon_p50_ms"],
    )  # fmt: skip
    report.add(
        "red-flag layer latency p95, <=300 chars", size, f"{r['layer_p95_ms']:.1f} ms",
        f"{r['lexicon_p95_ms']:.2f} ms lexicon alone", r["layer_p95_ms"] / r["lexicon_p95_ms"],
        "<=100 ms", r["layer_p95_ms"] <= 100,
    )  # fmt: skip
    report.add(
        "red-flag layer RSS added (" + r["mode"] + ")", "-", f"{r['rss_added_mb']:.0f} MB",
        "0 MB lexicon alone", None, "<=150 MB", r["rss_added_mb"] <= 150,
    )  # fmt: skip
    report.add("red-flag layer load (in the background)", "-", f"{r['load_s']:.2f} s")


async def worker_rows(report: Report, url: str, sizes: Sizes) -> None:
    """6. Real worker processes: three at the cap on one budget; replies during a peak."""
    shared = await workers.three_at_the_cap(url, sizes.cap_reminders, budget="shared")
    local = await workers.three_at_the_cap(url, sizes.cap_reminders, budget="local")
    size = f"3 x {sizes.cap_reminders:,}"
    report.add(
        "three workers at the cap: sends/s", size, f"{shared.rate:.1f} msg/s",
        f"{local.rate:.1f} msg/s own budget each", None, ">=27 msg/s", shared.rate >= 27,
    )  # fmt: skip
    report.add(
        "three workers at the cap: 429 answers", size, f"{shared.too_many}",
        f"{local.too_many} own budget each", None, "0", shared.too_many == 0,
    )  # fmt: skip
    report.notes.append(
        f"three workers: {shared.sent:,} sent, {shared.doubled} doubled (own budgets: "
        f"{local.sent:,} sent, {local.doubled} doubled); {sizes.cap_reminders:,} reminders fall "
        "due over 10 s, the stand (limits on) in the bench process"
    )
    peak = await workers.replies_during_a_peak(url, sizes.reply_peak)
    for name, value in (("p50", peak.p50_ms), ("p99", peak.p99_ms)):
        report.add(
            f"reply latency {name} while draining a peak", f"{sizes.reply_peak:,} due",
            f"{value / 1000:.2f} s", "-", None, "p99 <= 1 s",
            None if name == "p50" else value <= 1000,
        )  # fmt: skip
    report.notes.append(
        f"replies: {peak.replies} people sent /help, 4 a second, while one worker drained "
        f"{sizes.reply_peak:,} reminders ({peak.reminders:,} sent meanwhile, "
        f"{peak.too_many} 429s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (about 2 minutes)")
    parser.add_argument("--only", choices=["workers"], help="only the worker-process rows")
    args = parser.parse_args()
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    sizes = QUICK if args.quick else FULL
    began = time.perf_counter()
    report = asyncio.run(run(sizes, args.only))
    took = time.perf_counter() - began
    title = (
        f"WalkWell bench ({'quick' if args.quick else 'full'}), "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, took {took:.0f} s"
    )
    text = f"{title}\n\n{report.table()}\n"
    print("\n" + text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    (RESULTS.with_name("workers.txt") if args.only else RESULTS).write_text(text)
    sys.exit(0)


if __name__ == "__main__":
    main()
