"""The embedding backend's model carries the distance score into ``rank``'s in-scope score (what
triage compares with the in-scope threshold to fill the misdirected queue), keeps it through the
artefact, and still reads artefacts written before it. The sentence encoder is replaced by a
hashed bag of words so this runs without the ``ml`` extra."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from regulars.insights.backends import OUT_OF_SCOPE, EmbeddingBackend, best_threshold, dumps, loads, rank

from .conftest import examples

DIM = 48


class HashedWords(EmbeddingBackend):
    """Each word a fixed random direction; a text the unit-length sum of its words."""

    def __init__(self) -> None:
        super().__init__(encoder="pytorch")  # never asks for the ONNX graph

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().replace("?", "").split():
                out[row] += np.random.default_rng(zlib.crc32(word.encode())).standard_normal(DIM)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


FILLERS = ["today", "please", "again", "now", "thanks", "urgently", "this week", "asap", "hello", "sorry"]


def varied(per_topic: int = 80, seed: int = 0) -> tuple[list[str], list[str]]:
    """The shared topics, each wording with two fillers: few exact repeats, as in real traffic."""
    rng = np.random.default_rng(seed)
    texts, labels = examples(per_topic=per_topic)
    return [f"{t} {' '.join(rng.choice(FILLERS, 2, replace=False))}" for t in texts], labels


OURS = ["Why was I overcharged on the invoice again", "The courier lost my parcel please",
        "Trouble with the reset link asap", "My refund is wrong sorry"]  # fmt: skip
STRANGERS = ["What is the capital of Mongolia", "Recommend a good pizza place near the station",
             "How tall is the tallest mountain on earth", "Translate good morning into French"]  # fmt: skip


def trained() -> HashedWords:
    backend = HashedWords()
    backend.fit(*varied())  # 240 examples: enough to hold some out and calibrate
    return backend


def test_it_scores_messages_unlike_any_category_below_the_categories_own():
    backend = trained()
    assert backend.distance is not None and backend.distance.scale
    ours = [r.in_scope for r in rank(backend, OURS, k=1)]
    strangers = [r.in_scope for r in rank(backend, STRANGERS, k=1)]
    assert max(strangers) < min(ours)
    # The distance is what pushes them down: without it they would score higher.
    scale, backend.distance.scale = backend.distance.scale, {}
    plain = [r.in_scope for r in rank(backend, STRANGERS, k=1)]
    backend.distance.scale = scale
    assert all(s < p for s, p in zip(strangers, plain, strict=True))


def test_a_threshold_chosen_on_validation_keeps_ours_above_and_sends_strangers_below():
    backend = trained()
    val_ours = rank(backend, OURS[:2], k=1)
    val_strangers = rank(backend, STRANGERS[:2], k=1)
    threshold = best_threshold(
        [r.label in ("Billing", "Delivery") for r in val_ours],
        [r.in_scope for r in val_ours],
        [r.in_scope for r in val_strangers],
    )
    assert all(r.in_scope >= threshold for r in rank(backend, OURS[2:], k=1))
    assert all(r.in_scope < threshold for r in rank(backend, STRANGERS[2:], k=1))


def test_it_keeps_the_score_through_the_artefact():
    backend = trained()
    again = loads(dumps(backend))
    assert rank(again, OURS + STRANGERS) == rank(backend, OURS + STRANGERS)


def test_it_keeps_learnt_out_of_scope_examples_out_of_the_in_scope_memory():
    texts, labels = varied()
    spam = ["Cheap watches for sale now", "Win a free cruise today", "Cheap pills for sale"] * 10
    backend = HashedWords()
    backend.fit([*texts, *spam], [*labels, *[OUT_OF_SCOPE] * len(spam)])
    assert backend.distance is not None
    assert backend.distance.memory is not None and len(backend.distance.memory) == len(texts)
    assert backend.distance.out_of_scope is not None and len(backend.distance.out_of_scope) == len(spam)
    like_spam = rank(backend, ["Cheap watches for sale now please"], k=1)[0]
    assert like_spam.in_scope < 0 < rank(backend, ["My refund is wrong sorry"], k=1)[0].in_scope


def test_it_still_reads_an_artefact_written_before_the_distance_score():
    backend = trained()
    old = loads(dumps(backend))
    del old.__dict__["distance"]  # as unpickled from an older artefact: the similarity factor only
    ranked = rank(old, OURS + STRANGERS, k=1)
    assert [r.label for r in ranked[:4]] == [r.label for r in rank(backend, OURS, k=1)]
    assert max(r.in_scope for r in ranked[4:]) < min(r.in_scope for r in ranked[:4])
