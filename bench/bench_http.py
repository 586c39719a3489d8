"""(b) tickets created per second through ``POST /api/v1/tickets`` and (e) ``GET /api/v1/tickets``
requests per second against a trivial Django view, both served by gunicorn on 127.0.0.1.

    .venv/bin/python bench/bench_http.py --db sqlite --create 1000 --duration 10 --rounds 3
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from _common import ROOT, db_env, machine, setup_django

PORT = 8765


def wait_for_server(proc: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            conn.request("GET", "/bench/trivial")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


def create_tickets(token: str, emails: list[str], count: int, threads: int) -> tuple[float, int]:
    errors = 0
    lock = threading.Lock()
    counter = iter(range(count))

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            body = json.dumps(
                {
                    "subject": f"Router shows error 500 after firmware update ({i})",
                    "body": "Hello,\n\nSince the update my router restarts every few minutes. Please help.",
                    "requester_email": emails[i % len(emails)],
                    "channel": "api",
                    "tags": ["bug", "router"],
                }
            )
            try:
                conn.request(
                    "POST", "/api/v1/tickets", body=body,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                )  # fmt: skip
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 201
            except (OSError, http.client.HTTPException):
                ok = False
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            if not ok:
                with lock:
                    errors += 1

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.perf_counter() - started, errors


def wrk(path: str, token: str, duration: int, connections: int) -> tuple[str, list[int]]:
    """wrk's report, and how many of its connections each gunicorn worker holds half-way through.

    Workers accept connections in a race; now and then one worker takes all of wrk's
    keep-alive connections and the run measures one process on one core (the trivial view then
    drops from ~3,400 to ~1,300 req/s here). The split shows which runs that was."""
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency",
           "-H", f"Authorization: Bearer {token}", f"http://127.0.0.1:{PORT}{path}"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    time.sleep(duration / 2)
    sockets = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( sport = :{PORT} )"], capture_output=True, text=True
    ).stdout
    pids = re.findall(r"pid=(\d+)", sockets)
    split = sorted((pids.count(pid) for pid in set(pids)), reverse=True)
    out, _ = proc.communicate()
    return out, split


def balanced(split: list[int], workers: int) -> bool:
    return len(split) == workers


def rps(output: str) -> float:
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    return float(match.group(1)) if match else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    # The defaults of ``regulars serve``: 2 workers x 4 threads.
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server-threads", type=int, default=4)
    parser.add_argument("--create", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="API and trivial view, alternating")
    parser.add_argument(
        "--shared-socket", action="store_true",
        help="one listening socket for all workers (before 2026-12-03; `regulars serve` uses --reuse-port)",
    )  # fmt: skip
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    setup_django(args.db)

    from regulars.accounts.models import User
    from regulars.accounts.services import create_api_token
    from regulars.customers.models import Identity

    admin = User.objects.get(email="admin@demo.regulars.test")
    _, token = create_api_token(admin, name="bench")
    emails = list(Identity.objects.filter(kind="email").order_by("id").values_list("value", flat=True)[:500])

    print(machine())
    log = open(Path(ROOT) / "bench" / ".data" / "logs" / f"gunicorn-{args.db}.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "bench.trivial_wsgi:application", "--chdir", str(ROOT),
         "-b", f"127.0.0.1:{PORT}", "-w", str(args.workers), "--worker-class", "gthread",
         "--threads", str(args.server_threads),
         "--log-level", "warning", *([] if args.shared_socket else ["--reuse-port"])],
        env=db_env(args.db), stdout=log, stderr=log,
    )  # fmt: skip
    try:
        wait_for_server(server)
        elapsed, errors = create_tickets(token, emails, args.create, args.threads)
        print(
            f"POST /api/v1/tickets: {args.create} in {elapsed:.2f}s = {args.create / elapsed:.0f} tickets/s "
            f"({args.threads} client threads, gunicorn {args.workers}x{args.server_threads} gthread, {errors} errors)"
        )
        # Rounds alternate the two, so a slow spell of this shared machine (its host takes CPU at
        # times) falls on both. The figure is the median of the rounds in which both runs had
        # connections on every worker (all rounds if none had).
        ratios = []
        for n in range(1, args.rounds + 1):
            api, api_split = wrk("/api/v1/tickets", token, args.duration, args.connections)
            trivial, trivial_split = wrk("/bench/trivial", token, args.duration, args.connections)
            print(f"--- round {n}: wrk GET /api/v1/tickets\n" + api)
            print(f"--- round {n}: wrk GET /bench/trivial\n" + trivial)
            both = balanced(api_split, args.workers) and balanced(trivial_split, args.workers)
            ratios.append((rps(api) / max(rps(trivial), 1), rps(api), rps(trivial), both))
            print(
                f"round {n}: GET /api/v1/tickets {rps(api):.0f} req/s, trivial {rps(trivial):.0f} req/s, "
                f"ratio {ratios[-1][0]:.2f}; connections per worker: API {api_split}, trivial {trivial_split}"
                + ("" if both else " (not counted: a worker had none)")
            )
        counted = [r for r in ratios if r[3]] or ratios
        ratio, api_rps, trivial_rps, _ = sorted(counted)[len(counted) // 2]
        print(
            f"GET /api/v1/tickets {api_rps:.0f} req/s, trivial {trivial_rps:.0f} req/s, "
            f"ratio {ratio:.2f} (median of {len(counted)} of {len(ratios)} rounds: "
            f"{', '.join(f'{r[0]:.2f}' + ('' if r[3] else '*') for r in ratios)}; * not counted)"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
