"""``regulars insights train|evaluate|evaluate-oos``: the triage model from the command line.

``train`` fits a model on agents' category choices (or, to bootstrap, on a CSV file) and makes
it active only if it scores at least as well as the active one on the same held-out examples.
``evaluate`` and ``evaluate-oos`` measure a backend on public data sets; nothing is stored.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from regulars.insights.backends import BACKENDS, EmbeddingBackend
from regulars.insights.evaluation import (
    confusion_report,
    evaluate,
    evaluate_banking_oos,
    evaluate_clinc,
    read_csv,
)
from regulars.insights.services import train_model


class Command(BaseCommand):
    help = "Train and evaluate the triage model."

    def add_arguments(self, parser: ArgumentParser) -> None:
        assert isinstance(parser, CommandParser)
        sub = parser.add_subparsers(dest="action", required=True, metavar="{train,evaluate,evaluate-oos}")
        train = sub.add_parser("train", help="fit on agents' choices; swap in only if not worse")
        train.add_argument("--backend", choices=sorted(BACKENDS), default="light")
        train.add_argument("--from-csv", type=Path, default=None,
                           help="bootstrap from a text,category CSV instead of solved tickets")  # fmt: skip
        ev = sub.add_parser("evaluate", help="accuracy, macro-F1 and speed on text,category CSV files")
        ev.add_argument("--train", type=Path, required=True)
        ev.add_argument("--test", type=Path, required=True)
        ev.add_argument("--backend", choices=sorted(BACKENDS), default="light")
        ev.add_argument("--encoder", choices=EmbeddingBackend.ENCODERS, default=None,
                        help="embedding backend only: the encoder's precision (default int8)")  # fmt: skip
        ev.add_argument("--no-fine-tune", action="store_true",
                        help="embedding backend only: keep the shipped encoder as it is")  # fmt: skip
        ev.add_argument("--report", type=Path, default=None, help="write the confusion report here")
        ev.add_argument("--json", action="store_true", help="print the figures as JSON")
        oos = sub.add_parser("evaluate-oos", help="out-of-scope detection on CLINC150 / BANKING77-OOS")
        oos.add_argument("--clinc", type=Path, default=None, help="CLINC150 data_full.json")
        oos.add_argument("--encoder", choices=EmbeddingBackend.ENCODERS, default=None,
                         help="embedding backend only: the encoder's precision (default int8)")  # fmt: skip
        oos.add_argument("--no-fine-tune", action="store_true",
                         help="embedding backend only: keep the shipped encoder as it is")  # fmt: skip
        oos.add_argument("--clinc-oos-train", action="store_true",
                         help="also train on CLINC150's oos_train split, as an out_of_scope class")  # fmt: skip
        oos.add_argument("--banking-oos", type=Path, default=None, help="the BANKING77-OOS folder")
        oos.add_argument("--banking-oos-train", action="store_true",
                         help="also train on BANKING77-OOS's id-oos/train split, as an out_of_scope class")  # fmt: skip
        oos.add_argument("--backend", choices=sorted(BACKENDS), default="light")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "train":
            self.train(options["backend"], options["from_csv"])
        elif action == "evaluate":
            self.evaluate(options)
        else:
            self.evaluate_oos(options)

    @staticmethod
    def backend_options(options: dict[str, Any]) -> dict[str, Any]:
        chosen: dict[str, Any] = {}
        if options["encoder"] is not None:
            chosen["encoder"] = options["encoder"]
        if options["no_fine_tune"]:
            chosen["fine_tune"] = False
        if chosen and options["backend"] != "embedding":
            raise CommandError("--encoder and --no-fine-tune are for the embedding backend.")
        return chosen

    def train(self, backend: str, from_csv: Path | None) -> None:
        examples = read_csv(from_csv) if from_csv is not None else None
        row = train_model(backend=backend, examples=examples)
        self.stdout.write(f"model v{row.version} ({row.backend}): {row.state}: {row.progress}")
        for name, value in (row.metrics or {}).items():
            self.stdout.write(f"  {name}: {value}")
        if row.state == row.State.FAILED:
            raise CommandError(row.progress)

    def evaluate(self, options: dict[str, Any]) -> None:
        try:
            train, test = read_csv(options["train"]), read_csv(options["test"])
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        result = evaluate(train, test, backend_name=options["backend"], options=self.backend_options(options))
        if options["report"] is not None:
            options["report"].write_text(confusion_report(result), encoding="utf-8")
        if options["json"]:
            brief = {k: v for k, v in result.items() if k not in ("per_class", "most_confused")}
            self.stdout.write(json.dumps(brief, indent=2))
            return
        self.stdout.write(
            f"backend            {result['backend']}\n"
            f"train / test       {result['train_examples']} / {result['test_examples']} "
            f"({result['categories']} categories)\n"
            f"accuracy           {result['accuracy'] * 100:.2f} %\n"
            f"macro-F1           {result['macro_f1'] * 100:.2f} %\n"
            f"training time      {result['training_seconds']:.1f} s\n"
            f"batch throughput   {result['batch_per_second']:.0f} messages/s\n"
            f"one message        {result['single_ms_median']:.2f} ms median, "
            f"{result['single_ms_p95']:.2f} ms p95"
        )
        for pair in result["most_confused"][:5]:
            self.stdout.write(f"  confused {pair['true']} -> {pair['predicted']}: {pair['count']}")

    def evaluate_oos(self, options: dict[str, Any]) -> None:
        if options["clinc"] is None and options["banking_oos"] is None:
            raise CommandError("Give --clinc and/or --banking-oos.")
        if options["clinc"] is not None:
            self.stdout.write(
                json.dumps(
                    evaluate_clinc(
                        options["clinc"],
                        backend_name=options["backend"],
                        options=self.backend_options(options),
                        oos_train=options["clinc_oos_train"],
                    ),
                    indent=2,
                )
            )
        if options["banking_oos"] is not None:
            result = evaluate_banking_oos(
                options["banking_oos"],
                backend_name=options["backend"],
                options=self.backend_options(options),
                oos_train=options["banking_oos_train"],
            )
            self.stdout.write(json.dumps(result, indent=2))
