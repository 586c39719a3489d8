"""Shared set-up for the benchmark scripts: which database, Django start-up, percentiles."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data"
DATABASES = {
    "sqlite": {"REGULARS_VAR_DIR": os.environ.get("BENCH_SQLITE_DIR", str(DATA / "sqlite-1m"))},
    "postgres": {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/regulars_bench"},
}


def db_env(db: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REGULARS_VAR_DIR")}
    env.update(DATABASES[db])
    # Benchmarks measure throughput, not the per-token budget.
    env["API_RATE_LIMIT_PER_MINUTE"] = "0"
    env["DJANGO_SETTINGS_MODULE"] = env.get("DJANGO_SETTINGS_MODULE", "config.settings")
    return env


def setup_django(db: str) -> None:
    os.environ.update(db_env(db))
    if db == "sqlite":
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary_ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"n={len(ms)} p50={pct(ms, 50):.2f} ms p90={pct(ms, 90):.2f} ms p99={pct(ms, 99):.2f} ms "
        f"max={max(ms):.2f} ms mean={statistics.mean(ms):.2f} ms"
    )


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.splitlines()[1].split()[1]
    load = os.getloadavg()
    return (
        f"{platform.node()} {os.cpu_count()} cores ({cpu}), {mem} GB RAM, Python {platform.python_version()}, "
        f"load average at start {load[0]:.2f}"
    )
