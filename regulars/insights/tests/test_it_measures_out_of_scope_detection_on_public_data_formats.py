"""``regulars insights evaluate-oos`` reads CLINC150 and BANKING77-OOS files and reports the figures.

Runs the light backend (always installed) on tiny files in the two public formats, so the
evaluation path behind bench/RESULTS.md is exercised in CI without the data sets.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from regulars.insights.backends import best_threshold
from regulars.insights.evaluation import threshold_for_accuracy

from .conftest import examples

OTHER = [
    "What is the weather like tomorrow",
    "Play some jazz music please",
    "Tell me a joke about cats",
    "How many calories are in an apple",
    "Set an alarm for seven",
    "Who won the football game",
]


def _split(texts, labels):
    train = [[t, lab] for i, (t, lab) in enumerate(zip(texts, labels, strict=True)) if i % 3 != 2]
    held = [[t, lab] for i, (t, lab) in enumerate(zip(texts, labels, strict=True)) if i % 3 == 2]
    return train, held


def _banking_oos(tmp_path, train, held, *, id_oos, id_oos_train=None):
    """A BANKING77-OOS folder (DNNC style: ``seq.in`` and ``label`` per split): ``held`` split
    into valid and test, ``id_oos`` the (valid, test) ID-OOS queries, ``OTHER`` out of domain."""
    root = tmp_path / "BANKING77-OOS"
    oos = lambda texts: [[t, "oos"] for t in texts]  # noqa: E731
    splits = {"train": train, "valid": held[::2], "test": held[1::2], "id-oos/valid": oos(id_oos[0]),
              "id-oos/test": oos(id_oos[1]), "ood-oos/test": oos(OTHER)}  # fmt: skip
    if id_oos_train is not None:
        splits["id-oos/train"] = oos(id_oos_train)
    for folder, items in splits.items():
        (root / folder).mkdir(parents=True)
        (root / folder / "seq.in").write_text("\n".join(t for t, _ in items) + "\n")
        (root / folder / "label").write_text("\n".join(lab for _, lab in items) + "\n")
    return root


def _figures(out: str) -> list[dict]:
    decoder, text, found = json.JSONDecoder(), out.strip(), []
    while text:
        obj, end = decoder.raw_decode(text)
        found.append(obj)
        text = text[end:].strip()
    return found


def test_it_reports_clinc150_and_banking77_oos_figures(tmp_path):
    train, held = _split(*examples(per_topic=30))
    clinc = {
        "train": train,
        "val": held[::2],
        "test": held[1::2],
        "oos_val": [[t, "oos"] for t in OTHER[:3]],
        "oos_test": [[t, "oos"] for t in OTHER[3:]],
    }
    (tmp_path / "data_full.json").write_text(json.dumps(clinc))
    root = _banking_oos(tmp_path, train, held, id_oos=(OTHER[:3], OTHER[3:]))
    out = io.StringIO()
    call_command("insights", "evaluate-oos", "--backend", "light", "--clinc", str(tmp_path / "data_full.json"),
                 "--banking-oos", str(root), stdout=out)  # fmt: skip
    clinc_figures, banking_figures = _figures(out.getvalue())
    assert clinc_figures["data"] == "CLINC150 full"
    assert clinc_figures["in_scope_accuracy_without_threshold"] >= 0.9
    for key in ("in_scope_accuracy", "oos_recall", "oos_auroc", "threshold_for_75%_oos_recall_on_val",
                "in_scope_accuracy_at_that_threshold", "oos_recall_at_that_threshold",
                "threshold_for_95%_in_scope_accuracy_on_val", "in_scope_accuracy_at_the_accuracy_threshold",
                "oos_recall_at_the_accuracy_threshold"):  # fmt: skip
        assert 0.0 <= clinc_figures[key] <= 1.0
    assert banking_figures["data"] == "BANKING77-OOS"
    for key in ("id_oos_auroc", "ood_oos_auroc", "in_scope_accuracy", "id_oos_recall", "ood_oos_recall"):
        assert 0.0 <= banking_figures[key] <= 1.0


def test_it_can_train_on_clinc150_oos_train_as_an_out_of_scope_class(tmp_path):
    train, held = _split(*examples(per_topic=30))
    garden = ["Do you sell garden hoses", "My lawn mower is broken", "Which seeds grow in shade",
              "Where can I buy plant pots", "Is the garden centre open", "My hedge trimmer broke"]  # fmt: skip
    clinc = {
        "train": train,
        "val": held[::2],
        "test": held[1::2],
        "oos_train": [[t, "oos"] for t in garden * 3],
        "oos_val": [[t, "oos"] for t in ["Do you sell lawn mowers", *OTHER[:2]]],
        "oos_test": [[t, "oos"] for t in ["My garden hose leaks", *OTHER[3:]]],
    }
    (tmp_path / "data_full.json").write_text(json.dumps(clinc))
    out = io.StringIO()
    call_command("insights", "evaluate-oos", "--backend", "light", "--clinc", str(tmp_path / "data_full.json"),
                 "--clinc-oos-train", stdout=out)  # fmt: skip
    (figures,) = _figures(out.getvalue())
    assert figures["training_data"] == "train + oos_train (as out_of_scope)"
    assert figures["in_scope_accuracy_without_threshold"] >= 0.9  # out_of_scope is never a label
    assert 0.0 <= figures["oos_recall"] <= 1.0


def test_it_can_train_on_banking77_oos_id_oos_train_as_an_out_of_scope_class(tmp_path):
    train, held = _split(*examples(per_topic=30))
    # In-domain out of scope: a held-out topic (gift cards) asked in the in-scope topics' words.
    gift = {"Gifts": (["gift card", "gift voucher", "gift balance"],
                      ["My {w} is wrong", "Problem with the {w}", "Help with my {w}", "I need my {w} sorted",
                       "Can you check the {w}", "The {w} does not work"])}  # fmt: skip
    gift_texts, _ = examples(per_topic=18, topics=gift)
    root = _banking_oos(
        tmp_path, train, held, id_oos=(gift_texts[12:15], gift_texts[15:]), id_oos_train=gift_texts[:12]
    )

    def run(*extra: str) -> dict:
        out = io.StringIO()
        call_command(
            "insights", "evaluate-oos", "--backend", "light", "--banking-oos", str(root), *extra, stdout=out
        )
        (figures,) = _figures(out.getvalue())
        return figures

    plain, marked = run(), run("--banking-oos-train")
    assert plain["training_data"] == "train (in-scope only)"
    assert marked["training_data"] == "train + id-oos/train (as out_of_scope)"
    assert marked["in_scope_accuracy_without_threshold"] >= 0.9  # out_of_scope is never a label
    # Gift-card questions marked "not for us" before are told apart better than unseen ones.
    assert marked["id_oos_auroc"] > plain["id_oos_auroc"]
    assert marked["id_oos_recall"] >= plain["id_oos_recall"]


def test_it_asks_for_at_least_one_data_set():
    with pytest.raises(CommandError):
        call_command("insights", "evaluate-oos")


def test_the_threshold_treats_out_of_scope_as_one_more_class():
    # In-scope scores 0.9 (right), 0.8 (right), 0.3 (wrong); out-of-scope 0.4 and 0.2: a cut at
    # 0.8 gets both right in-scope ones and both out-of-scope ones.
    assert best_threshold([True, True, False], [0.9, 0.8, 0.3], [0.4, 0.2]) == 0.8


def test_the_accuracy_threshold_is_the_highest_that_keeps_in_scope_accuracy_on_target():
    # Ten in-scope scores, the lowest one wrong: a cut at 0.3 keeps 8 right of 10 (80 %), a cut
    # just above 0.3 keeps 7 (70 %).
    right = [False, True, True, True, True, True, True, True, True, True]
    scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert threshold_for_accuracy(right, scores, 0.8) == 0.3
    assert threshold_for_accuracy(right, scores, 0.9) == 0.2  # what no threshold already gives
    assert threshold_for_accuracy(right, scores, 0.95) == 0.1  # unreachable: no threshold at all
