"""Offline evaluation on public data sets, through the production backends and ``rank``.

``regulars insights evaluate`` and ``regulars insights evaluate-oos`` call these; the figures
are recorded in bench/RESULTS.md.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from regulars.insights.backends import OUT_OF_SCOPE, Backend, best_threshold, make_backend, rank

# The out-of-scope recall and in-scope accuracy the CLINC150 target asks for (issue 6); see
# evaluate_clinc.
OOS_RECALL_TARGET = 0.75
IN_SCOPE_ACCURACY_TARGET = 0.95


def threshold_for_accuracy(
    in_scope_correct: Sequence[bool], in_scores: Sequence[float], target: float
) -> float:
    """The highest threshold at which in-scope accuracy (right and at or above the threshold) is
    still at least ``target``: the most out-of-scope recall that accuracy allows. The lowest
    score when even no threshold falls short."""
    scores = np.asarray(in_scores, dtype=np.float64)
    ok = np.asarray(in_scope_correct, dtype=bool)
    if not len(scores):
        return 0.0
    order = np.argsort(scores)
    # Raising the threshold past the i-th lowest score drops it (and every lower one).
    kept_right = ok[order][::-1].cumsum()[::-1]  # right answers at or above each sorted score
    allowed = np.nonzero(kept_right / len(scores) >= target)[0]
    return float(scores[order][allowed[-1]]) if len(allowed) else float(scores.min())


def read_csv(path: Path) -> tuple[list[str], list[str]]:
    """A CSV file with ``text`` and ``category`` columns (any other columns are ignored)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"text", "category"} <= set(reader.fieldnames):
            raise ValueError(f"{path} needs a header with text and category columns.")
        rows = [(r["text"], r["category"]) for r in reader if r["text"] and r["category"]]
    return [t for t, _ in rows], [c for _, c in rows]


def read_lines(folder: Path) -> tuple[list[str], list[str]]:
    """A DNNC-style split folder: ``seq.in`` (one query per line) and ``label`` aligned with it."""
    texts = (folder / "seq.in").read_text(encoding="utf-8").splitlines()
    labels = (folder / "label").read_text(encoding="utf-8").splitlines()
    if len(texts) != len(labels):
        raise ValueError(f"{folder}: seq.in and label differ in length.")
    return texts, labels


def _fit(
    backend_name: str, texts: Sequence[str], labels: Sequence[str], options: dict[str, Any] | None
) -> tuple[Backend, float]:
    backend = make_backend(backend_name, **(options or {}))
    started = time.perf_counter()
    backend.fit(texts, labels)
    return backend, time.perf_counter() - started


def evaluate(
    train: tuple[list[str], list[str]],
    test: tuple[list[str], list[str]],
    *,
    backend_name: str = "light",
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    backend, fit_seconds = _fit(backend_name, *train, options)
    texts, truth = test
    started = time.perf_counter()
    predicted = [r.label for r in rank(backend, texts, k=3)]
    batch_seconds = time.perf_counter() - started
    for text in texts[:20]:  # warm caches before timing single messages
        rank(backend, [text])
    single = []
    for text in texts[:300]:
        t0 = time.perf_counter()
        rank(backend, [text])
        single.append((time.perf_counter() - t0) * 1000)
    labels = sorted(set(truth) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    per_class = [
        {"category": c, "precision": round(float(p), 4), "recall": round(float(r), 4),
         "f1": round(float(f), 4), "support": int(s)}
        for c, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    ]  # fmt: skip
    confused = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    return {
        "backend": backend_name,
        "options": options or {},
        "train_examples": len(train[0]),
        "test_examples": len(texts),
        "categories": len(set(train[1])),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4),
        "training_seconds": round(fit_seconds, 2),
        "batch_per_second": round(len(texts) / batch_seconds, 1),
        "single_ms_median": round(statistics.median(single), 2),
        "single_ms_p95": round(float(np.percentile(single, 95)), 2),
        "per_class": per_class,
        "most_confused": [{"true": t, "predicted": p, "count": n} for (t, p), n in confused.most_common(20)],
    }


def confusion_report(result: dict[str, Any]) -> str:
    """The per-class table and the most confused pairs, as Markdown."""
    lines = [
        f"# Confusion report ({result['backend']} backend)",
        "",
        f"accuracy {result['accuracy']:.4f}, macro-F1 {result['macro_f1']:.4f}, "
        f"{result['test_examples']} test examples, {result['categories']} categories",
        "",
        "## Most confused pairs (true -> predicted)",
        "",
        "| true | predicted | count |",
        "| --- | --- | ---: |",
        *[f"| {r['true']} | {r['predicted']} | {r['count']} |" for r in result["most_confused"]],
        "",
        "## Per category",
        "",
        "| category | precision | recall | F1 | support |",
        "| --- | ---: | ---: | ---: | ---: |",
        *[
            f"| {r['category']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['support']} |"
            for r in sorted(result["per_class"], key=lambda r: r["f1"])
        ],
    ]
    return "\n".join(lines) + "\n"


def _auroc(in_scores: Sequence[float], oos_scores: Sequence[float]) -> float:
    """How well max probability separates in-scope (high) from out-of-scope (low); OOS is positive."""
    from sklearn.metrics import roc_auc_score

    y = [0] * len(in_scores) + [1] * len(oos_scores)
    return float(roc_auc_score(y, [-s for s in [*in_scores, *oos_scores]]))


def evaluate_clinc(
    path: Path, *, backend_name: str = "light", options: dict[str, Any] | None = None, oos_train: bool = False
) -> dict[str, Any]:
    """CLINC150 "Full" (Larson et al. 2019): train on the in-scope training split, choose the
    threshold on the validation split (in-scope val + oos_val, "oos" as one more class), report
    in-scope accuracy and out-of-scope recall on the test split.

    With ``oos_train`` the 100 ``oos_train`` queries join the training data as ``OUT_OF_SCOPE``
    (as a help desk learns from messages its agents marked misdirected); the threshold is still
    chosen on validation, on ``rank``'s in-scope score as in production."""
    data = json.loads(path.read_text(encoding="utf-8"))
    train_texts = [t for t, _ in data["train"]]
    train_labels = [label for _, label in data["train"]]
    if oos_train:
        train_texts += [t for t, _ in data["oos_train"]]
        train_labels += [OUT_OF_SCOPE] * len(data["oos_train"])
    backend, fit_seconds = _fit(backend_name, train_texts, train_labels, options)

    def scored(items: list[list[str]]) -> tuple[list[bool], list[float]]:
        ranked = rank(backend, [t for t, _ in items], k=1)
        return [r.label == lab for r, (_, lab) in zip(ranked, items, strict=True)], [
            r.in_scope for r in ranked
        ]

    val_ok, val_in = scored(data["val"])
    _, val_oos = scored(data["oos_val"])
    threshold = best_threshold(val_ok, val_in, val_oos)
    test_ok, test_in = scored(data["test"])
    _, test_oos = scored(data["oos_test"])
    in_scope_accuracy = float(
        np.mean([ok and s >= threshold for ok, s in zip(test_ok, test_in, strict=True)])
    )
    # A second operating point, also chosen on validation only: the lowest threshold that puts
    # ``OOS_RECALL_TARGET`` of oos_val at or below it, beside Larson's (which 3,000 in-scope vs
    # 100 out-of-scope validation queries pull towards in-scope accuracy).
    strict = sorted(val_oos)[max(0, math.ceil(len(val_oos) * OOS_RECALL_TARGET) - 1)] if val_oos else 0.0
    # A third, also on validation only: the highest threshold that keeps validation in-scope
    # accuracy at ``IN_SCOPE_ACCURACY_TARGET`` (the target read literally; test accuracy runs
    # lower than validation's on CLINC150, so this point can miss it on test).
    budget = threshold_for_accuracy(val_ok, val_in, IN_SCOPE_ACCURACY_TARGET)
    return {
        "data": "CLINC150 full",
        "backend": backend_name,
        "options": options or {},
        "training_data": "train + oos_train (as out_of_scope)" if oos_train else "train (in-scope only)",
        "training_seconds": round(fit_seconds, 2),
        "threshold": round(threshold, 4),
        "in_scope_accuracy": round(in_scope_accuracy, 4),
        "in_scope_accuracy_without_threshold": round(float(np.mean(test_ok)), 4),
        "oos_recall": round(float(np.mean([s < threshold for s in test_oos])), 4),
        "oos_auroc": round(_auroc(test_in, test_oos), 4),
        f"threshold_for_{OOS_RECALL_TARGET:.0%}_oos_recall_on_val": round(strict, 4),
        "in_scope_accuracy_at_that_threshold": round(
            float(np.mean([ok and s > strict for ok, s in zip(test_ok, test_in, strict=True)])), 4
        ),
        "oos_recall_at_that_threshold": round(float(np.mean([s <= strict for s in test_oos])), 4),
        f"threshold_for_{IN_SCOPE_ACCURACY_TARGET:.0%}_in_scope_accuracy_on_val": round(budget, 4),
        "in_scope_accuracy_at_the_accuracy_threshold": round(
            float(np.mean([ok and s >= budget for ok, s in zip(test_ok, test_in, strict=True)])), 4
        ),
        "oos_recall_at_the_accuracy_threshold": round(float(np.mean([s < budget for s in test_oos])), 4),
    }


def evaluate_banking_oos(
    folder: Path,
    *,
    backend_name: str = "light",
    options: dict[str, Any] | None = None,
    oos_train: bool = False,
) -> dict[str, Any]:
    """BANKING77-OOS (Zhang et al. 2022): train on the in-scope training split (50 intents);
    AUROC of max probability separating in-scope test queries from in-domain (ID-OOS, held-out
    banking intents) and out-of-domain (OOD-OOS) test queries. The threshold figures use a
    threshold chosen on the validation splits (in-scope valid + ID-OOS valid).

    With ``oos_train`` the data set's ID-OOS training split (2,062 queries) joins the training
    data as ``OUT_OF_SCOPE``, as agents' "not for us" corrections do in production. Its queries
    come from the same 27 held-out intents as the ID-OOS test split, so this measures
    recognising kinds of misdirected mail that have been marked before; without it, kinds never
    seen."""
    train_texts, train_labels = read_lines(folder / "train")
    if oos_train:
        oos_texts = read_lines(folder / "id-oos" / "train")[0]
        train_texts = [*train_texts, *oos_texts]
        train_labels = [*train_labels, *([OUT_OF_SCOPE] * len(oos_texts))]
    backend, fit_seconds = _fit(backend_name, train_texts, train_labels, options)

    def confidences(texts: list[str]) -> list[float]:
        return [r.in_scope for r in rank(backend, texts, k=1)]

    val_texts, val_labels = read_lines(folder / "valid")
    val_ranked = rank(backend, val_texts, k=1)
    val_ok = [r.label == t for r, t in zip(val_ranked, val_labels, strict=True)]
    val_id = confidences(read_lines(folder / "id-oos" / "valid")[0])
    threshold = best_threshold(val_ok, [r.in_scope for r in val_ranked], val_id)
    test_texts, test_labels = read_lines(folder / "test")
    test_ranked = rank(backend, test_texts, k=1)
    test_in = [r.in_scope for r in test_ranked]
    test_id = confidences(read_lines(folder / "id-oos" / "test")[0])
    test_ood = confidences(read_lines(folder / "ood-oos" / "test")[0])
    ok = [r.label == t for r, t in zip(test_ranked, test_labels, strict=True)]
    return {
        "data": "BANKING77-OOS",
        "backend": backend_name,
        "training_data": "train + id-oos/train (as out_of_scope)" if oos_train else "train (in-scope only)",
        "options": options or {},
        "training_seconds": round(fit_seconds, 2),
        "in_scope_accuracy_without_threshold": round(float(np.mean(ok)), 4),
        "id_oos_auroc": round(_auroc(test_in, test_id), 4),
        "ood_oos_auroc": round(_auroc(test_in, test_ood), 4),
        "threshold": round(threshold, 4),
        "in_scope_accuracy": round(
            float(np.mean([o and s >= threshold for o, s in zip(ok, test_in, strict=True)])), 4
        ),
        "id_oos_recall": round(float(np.mean([s < threshold for s in test_id])), 4),
        "ood_oos_recall": round(float(np.mean([s < threshold for s in test_ood])), 4),
    }
