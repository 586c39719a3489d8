"""``regulars insights evaluate`` on text,category CSV files prints the figures and writes a report."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from .conftest import examples


def _write(path, rows):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerows(rows)


def test_it_prints_accuracy_and_speed_and_writes_a_confusion_report(tmp_path):
    texts, labels = examples()
    rows = list(zip(texts, labels, strict=True))
    _write(tmp_path / "train.csv", rows[::2])
    _write(tmp_path / "test.csv", rows[1::2])
    out = io.StringIO()
    call_command("insights", "evaluate", "--train", str(tmp_path / "train.csv"),
                 "--test", str(tmp_path / "test.csv"), "--report", str(tmp_path / "report.md"), stdout=out)  # fmt: skip
    printed = out.getvalue()
    for figure in ("accuracy", "macro-F1", "training time", "messages/s", "one message"):
        assert figure in printed
    report = (tmp_path / "report.md").read_text()
    assert "| Billing |" in report and "Most confused pairs" in report


def test_it_refuses_a_file_without_the_right_columns(tmp_path):
    (tmp_path / "bad.csv").write_text("message,label\nhi,greeting\n")
    with pytest.raises(CommandError):
        call_command(
            "insights", "evaluate", "--train", str(tmp_path / "bad.csv"), "--test", str(tmp_path / "bad.csv")
        )
