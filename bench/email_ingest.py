"""(g) Email ingest: messages per second end to end (parse, ledger, thread, ticket, search index),
Regulars beside django-helpdesk 2.6.1's email path, on the same .eml bytes, in one run.

Regulars is measured on the paths production takes (``--path``, all three by default, each beside
the same helpdesk figure):

- ``smtp``: what ``regulars smtpd`` does under load. Each message is committed to the ledger on
  its own (``ingest.store_raw``, what the server's ``250`` waits for) and the stored rows are
  processed ``ingest.BATCH`` at a time (``ingest.process_batch``: one transaction, a savepoint per
  message), as the server's processing thread does when it drains its backlog.
- ``imap``: what IMAP polling does after its FETCH (the network left out, as it is for helpdesk):
  ``ingest.BATCH`` messages committed to the ledger in one transaction (``ingest.store_many``),
  then processed by ``process_batch``.
- ``single``: one message at a time through ``ingest.ingest`` (``store_raw`` then
  ``process_inbound``), what a lone message costs.

Inline event handlers run after commit as in production.
django-helpdesk goes through ``helpdesk.email.extract_email_metadata`` (what its IMAP/POP/local
``process_email`` calls for each message, after ``force_str`` of the raw bytes).

Each database is created fresh for the run (never a database named ``test``):

    .venv/bin/python bench/email_ingest.py --count 2000            # both databases, both products
    .venv/bin/python bench/email_ingest.py --count 2000 --db sqlite
    .venv/bin/python bench/email_ingest.py --count 2000 --path smtp     # one path only

SQLite: ``REGULARS_VAR_DIR=bench/.data/email``, helpdesk ``bench/.data/email/helpdesk.sqlite3``.
PostgreSQL: ``postgres://postgres@127.0.0.1:5432/email_bench`` and ``.../email_bench_helpdesk``.
The corpus (``bench/.data/email/corpus``, seed 1) mixes new tickets, replies threading by
In-Reply-To, HTML mail and attachments; ``--stats`` prints the mix.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data" / "email"
CORPUS = DATA / "corpus"
PG_REGULARS = "postgres://postgres@127.0.0.1:5432/email_bench"
PG_HELPDESK = "postgres://postgres@127.0.0.1:5432/email_bench_helpdesk"
HELPDESK_PYTHON = ROOT / "bench" / ".helpdesk-venv" / "bin" / "python"
WARMUP = 50
SUPPORT = "support@demo.regulars.test"

WORDS = [
    "router",
    "printer",
    "invoice",
    "refund",
    "password",
    "login",
    "error",
    "firmware",
    "update",
    "account",
    "billing",
    "shipping",
    "order",
    "delivery",
    "broken",
    "screen",
    "battery",
    "charger",
    "warranty",
    "subscription",
    "cancel",
    "upgrade",
    "network",
    "slow",
    "email",
    "sync",
    "calendar",
    "mobile",
    "app",
    "crash",
    "export",
    "report",
    "dashboard",
    "permission",
    "team",
    "admin",
]


# --- the corpus ----------------------------------------------------------------------------


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def build_corpus(count: int, seed: int = 1) -> list[Path]:
    """``WARMUP + count`` .eml files: ~55% new tickets, ~35% replies (In-Reply-To and References
    to an earlier message of the same sender, quoting it), ~25% with an HTML alternative, ~10%
    with an attachment (a 20-60 kB binary), ~3% a second reply in the same thread."""
    rng = random.Random(seed)
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    CORPUS.mkdir(parents=True)
    threads: list[tuple[str, str, str, list[str]]] = []  # sender, name, subject, message ids
    paths: list[Path] = []
    for i in range(WARMUP + count):
        msg_id = f"bench-{seed}-{i}@customer.example"
        reply = threads and rng.random() < 0.35
        if reply:
            sender, name, subject, ids = rng.choice(threads)
            subject = subject if subject.startswith("Re: ") else f"Re: {subject}"
            headers = f"In-Reply-To: <{ids[-1]}>\r\nReferences: {' '.join(f'<{x}>' for x in ids)}\r\n"
            text = (
                f"{_sentence(rng, 12)}\r\n{_sentence(rng, 9)}\r\n\r\nOn Mon, 23 Nov 2026 someone wrote:\r\n"
                f"> {_sentence(rng, 10)}\r\n> {_sentence(rng, 8)}\r\n"
            )
            ids.append(msg_id)
        else:
            n = rng.randrange(1500)
            sender, name = f"customer{n}@customer.example", f"Customer {n}"
            subject = f"{_sentence(rng, 5)[:-1]} ({i})"
            headers = ""
            text = "\r\n\r\n".join(_sentence(rng, rng.randrange(8, 30)) for _ in range(rng.randrange(1, 5)))
            text += f"\r\n\r\n-- \r\n{name}\r\nCustomer Ltd.\r\n"
            threads.append((sender, name, subject, [msg_id]))
        top = (
            f"From: {name} <{sender}>\r\nTo: Support <{SUPPORT}>\r\nSubject: {subject}\r\n"
            f"Date: Mon, 23 Nov 2026 12:{i % 60:02d}:00 +0000\r\nMessage-ID: <{msg_id}>\r\n{headers}"
            "MIME-Version: 1.0\r\n"
        )
        html = rng.random() < 0.25
        attach = rng.random() < 0.10
        body_text = (
            f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"
        )
        if html:
            paras = "".join(f"<p>{line}</p>" for line in text.split("\r\n") if line)
            alt = "alt-" + str(i)
            body = (
                f'Content-Type: multipart/alternative; boundary="{alt}"\r\n\r\n--{alt}\r\n{body_text}'
                f"--{alt}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
                f'<html><body><div style="font-family:Arial">{paras}</div></body></html>\r\n--{alt}--\r\n'
            )
        else:
            body = body_text
        if attach:
            mixed = "mix-" + str(i)
            blob = (
                base64.encodebytes(rng.randbytes(rng.randrange(20_000, 60_000)))
                .decode()
                .replace("\n", "\r\n")
            )
            body = (
                f'Content-Type: multipart/mixed; boundary="{mixed}"\r\n\r\n--{mixed}\r\n{body}'
                f'--{mixed}\r\nContent-Type: application/pdf; name="report-{i}.pdf"\r\n'
                f'Content-Disposition: attachment; filename="report-{i}.pdf"\r\n'
                f"Content-Transfer-Encoding: base64\r\n\r\n{blob}--{mixed}--\r\n"
            )
        path = CORPUS / f"{i:06d}.eml"
        path.write_bytes((top + body).encode())
        paths.append(path)
    return paths


def corpus_stats(paths: list[Path]) -> dict[str, int]:
    raw = [p.read_bytes() for p in paths[WARMUP:]]
    return {
        "messages": len(raw),
        "replies": sum(b"In-Reply-To:" in r for r in raw),
        "html": sum(b"text/html" in r for r in raw),
        "attachments": sum(b"Content-Disposition: attachment" in r for r in raw),
        "bytes": sum(len(r) for r in raw),
    }


# --- the two sides (each in its own process) ----------------------------------------------


def run_regulars(db: str, path: str = "smtp") -> dict[str, object]:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    from regulars.channels.email.ingest import BATCH, ingest, process_batch, store_many, store_raw
    from regulars.channels.email.models import InboundEmail
    from regulars.channels.services import ensure_inbox
    from regulars.core.models import SearchDocument
    from regulars.tickets.models import Message, Ticket

    inbox = ensure_inbox("Bench support", [SUPPORT], "Bench")
    paths = sorted(CORPUS.glob("*.eml"))
    raws = [p.read_bytes() for p in paths]

    def smtp(batch: list[bytes]) -> None:
        # What LedgerHandler does with a backlog: each message committed to the ledger before
        # its 250, then the stored rows processed together by the processing thread.
        for start in range(0, len(batch), BATCH):
            process_batch([store_raw(inbox, raw)[0].pk for raw in batch[start : start + BATCH]])

    def imap(batch: list[bytes]) -> None:
        # What poll_inbox does with a fetched group: one ledger transaction, then processing.
        for start in range(0, len(batch), BATCH):
            stored, failure = store_many(
                inbox, [(raw, []) for raw in batch[start : start + BATCH]], source="imap"
            )
            assert failure is None
            process_batch([row.pk for row, _created in stored])

    def single(batch: list[bytes]) -> None:
        for raw in batch:
            ingest(inbox, raw)

    run = {"smtp": smtp, "imap": imap, "single": single}[path]
    run(raws[:WARMUP])
    started_cpu = time.process_time()
    started = time.perf_counter()
    run(raws[WARMUP:])
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - started_cpu
    n = len(raws) - WARMUP
    statuses: dict[str, int] = {}
    for status in InboundEmail.objects.values_list("status", flat=True):
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "side": "regulars", "db": connection.vendor, "messages": n, "seconds": elapsed, "per_second": n / elapsed,
        "path": path, "cpu_ms_per_message": round(cpu / n * 1000, 2), "tickets": Ticket.objects.count(), "messages_in_tickets": Message.objects.count(),
        "search_documents": SearchDocument.objects.count(), "ledger": statuses,
    }  # fmt: skip


def run_helpdesk(db: str) -> dict[str, object]:
    sys.path.remove(str(Path(__file__).resolve().parent))  # bench/ itself must not shadow "helpdesk"
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.helpdesk_site.settings"
    import bench.helpdesk_site.settings as site

    # Our own files, not those of bench_helpdesk.py, which may be running.
    site.MEDIA_ROOT = str(DATA / "helpdesk-media")
    if db == "sqlite":
        site.DATABASES["default"]["NAME"] = str(DATA / "helpdesk.sqlite3")
    import logging

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import encoding
    from helpdesk.email import extract_email_metadata
    from helpdesk.models import FollowUp, Queue, Ticket

    call_command("migrate", verbosity=0)
    queue, _ = Queue.objects.get_or_create(
        slug="support",
        defaults={"title": "Support", "allow_email_submission": True, "email_address": SUPPORT},
    )
    logger = logging.getLogger("helpdesk.bench")
    logger.setLevel(logging.WARNING)
    raws = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]
    for raw in raws[:WARMUP]:
        extract_email_metadata(message=encoding.force_str(raw, errors="replace"), queue=queue, logger=logger)
    started_cpu = time.process_time()
    started = time.perf_counter()
    for raw in raws[WARMUP:]:
        # What helpdesk.email.imap_sync / pop3_sync / process_queue do with each message.
        full_message = encoding.force_str(raw, errors="replace")
        extract_email_metadata(message=full_message, queue=queue, logger=logger)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - started_cpu
    n = len(raws) - WARMUP
    return {
        "side": "helpdesk", "db": connection.vendor, "messages": n, "seconds": elapsed, "per_second": n / elapsed,
        "cpu_ms_per_message": round(cpu / n * 1000, 2), "tickets": Ticket.objects.count(), "followups": FollowUp.objects.count(),
    }  # fmt: skip


# --- the driver ----------------------------------------------------------------------------


def _psql(*sql: str) -> None:
    args = ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
    for s in sql:
        args += ["-c", s]
    subprocess.run(args, check=True)


def fresh_env(side: str, db: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REGULARS_VAR_DIR")}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env.pop("HELPDESK_DATABASE_URL", None)
    if side == "regulars":
        var = DATA / "regulars-var"
        if var.exists():
            shutil.rmtree(var)
        var.mkdir(parents=True)
        env["REGULARS_VAR_DIR"] = str(var)
        if db == "postgres":
            _psql("DROP DATABASE IF EXISTS email_bench", "CREATE DATABASE email_bench")
            env["DATABASE_URL"] = PG_REGULARS
        subprocess.run([str(ROOT / ".venv" / "bin" / "regulars"), "migrate", "-v0"], env=env, check=True)
    else:
        if db == "postgres":
            _psql("DROP DATABASE IF EXISTS email_bench_helpdesk", "CREATE DATABASE email_bench_helpdesk")
            env["HELPDESK_DATABASE_URL"] = PG_HELPDESK
        else:
            for suffix in ("", "-wal", "-shm"):
                (DATA / f"helpdesk.sqlite3{suffix}").unlink(missing_ok=True)
        shutil.rmtree(DATA / "helpdesk-media", ignore_errors=True)
    return env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--path", choices=["smtp", "imap", "single", "all"], default="all")
    parser.add_argument("--side", choices=["regulars", "helpdesk"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:  # a child process: one side, one database, already set up
        result = run_regulars(args.db, args.path) if args.side == "regulars" else run_helpdesk(args.db)
        print("RESULT " + json.dumps(result))
        return

    sys.path.insert(0, str(ROOT))
    from bench._common import machine

    print(machine())
    DATA.mkdir(parents=True, exist_ok=True)
    paths = build_corpus(args.count)
    print("corpus:", json.dumps(corpus_stats(paths)))
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    paths_run = ["smtp", "imap", "single"] if args.path == "all" else [args.path]
    for db in dbs:
        figures: dict[str, float] = {}
        for side, path in [*(("regulars", p) for p in paths_run), ("helpdesk", "")]:
            started_load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            env = fresh_env(side, db)
            python = str(ROOT / ".venv" / "bin" / "python") if side == "regulars" else str(HELPDESK_PYTHON)
            out = subprocess.run(
                [python, __file__, "--side", side, "--db", db, "--count", str(args.count), "--path", path or "smtp"],
                env=env, check=True, capture_output=True, text=True,
            )  # fmt: skip
            line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
            result = json.loads(line[len("RESULT ") :])
            name = f"{side} {path}".strip()
            figures[name] = float(result["per_second"])
            print(f"{db:8} {name:16} (load average at start {started_load}) "
                  f"{result['messages']} msgs in {result['seconds']:.2f}s "
                  f"= {result['per_second']:.1f} msgs/s  {json.dumps({k: v for k, v in result.items() if k not in ('side', 'db', 'messages', 'seconds', 'per_second')})}")  # fmt: skip
        for path in paths_run:
            print(f"{db:8} ratio regulars {path}/helpdesk = {figures[f'regulars {path}'] / figures['helpdesk']:.2f}x  "
                  f"(load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())})")  # fmt: skip


if __name__ == "__main__":
    main()
