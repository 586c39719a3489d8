"""The distance part of the "is this for us" score (``outofscope.DistanceScore``): messages far
from every category's training examples score below typical in-scope ones, near an out-of-scope
example counts against, and a typical in-scope message is not penalised at all. On synthetic
embeddings, so it runs without the ``ml`` extra."""

from __future__ import annotations

import numpy as np

from regulars.insights.outofscope import DistanceScore

DIM = 24


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clusters(rng: np.random.Generator, centres: np.ndarray, per: int, spread: float = 0.08):
    x = np.concatenate([c + spread * rng.standard_normal((per, DIM)) for c in centres])
    return unit(x), [f"topic{i}" for i in range(len(centres)) for _ in range(per)]


def fitted(rng: np.random.Generator, centres: np.ndarray, extra=None) -> DistanceScore:
    x, labels = clusters(rng, centres, 60)
    if extra is not None:
        x, labels = np.concatenate([x, extra]), [*labels, *["out_of_scope"] * len(extra)]
    score = DistanceScore().fit(x, labels, "out_of_scope")
    held, _ = clusters(rng, centres, 15)
    score.calibrate(held)
    return score


def test_it_ranks_messages_far_from_every_category_below_in_scope_ones():
    rng = np.random.default_rng(0)
    centres = unit(rng.standard_normal((4, DIM)))
    score = fitted(rng, centres)
    ours, _ = clusters(rng, centres, 25)
    strangers = unit(rng.standard_normal((40, DIM)))  # random directions: no category near
    near, far = score.gap(ours), score.gap(strangers)
    assert np.median(near) == 0.0  # a typical in-scope message keeps its probabilities
    assert (near <= 0).all() and (far <= 0).all()
    assert np.percentile(far, 90) < np.percentile(near, 10)
    # Each distance on its own already points the same way.
    for name, values in score.features(strangers).items():
        assert np.median(values) < np.median(score.features(ours)[name]), name


def test_it_counts_the_distance_to_the_nearest_class_mean():
    rng = np.random.default_rng(1)
    centres = unit(rng.standard_normal((3, DIM)))
    score = fitted(rng, centres)
    assert score.projection is not None and score.projection.shape == (DIM, 2)  # classes - 1
    at_the_means = score.features(centres)["class_distance"]
    halfway = unit(centres[:1] + centres[1:2])  # as far from both means as can be between them
    assert score.features(halfway)["class_distance"][0] < at_the_means.min()


def test_it_scores_a_message_near_an_out_of_scope_example_lower():
    rng = np.random.default_rng(2)
    centres = unit(rng.standard_normal((4, DIM)))
    spam_centre = unit(rng.standard_normal((1, DIM)))
    spam = unit(spam_centre + 0.08 * rng.standard_normal((20, DIM)))
    without = fitted(np.random.default_rng(3), centres)
    with_spam = fitted(np.random.default_rng(3), centres, extra=spam)
    assert without.out_of_scope is None
    assert with_spam.out_of_scope is not None and len(with_spam.out_of_scope) == 20
    assert "out_of_scope_similarity" in with_spam.scale
    like_spam = unit(spam_centre + 0.08 * rng.standard_normal((10, DIM)))
    assert (with_spam.gap(like_spam) < without.gap(like_spam)).all()
    # The memory of in-scope examples never holds the out-of-scope ones.
    assert len(with_spam.memory) == len(without.memory) == 240


def test_it_leaves_every_message_alone_until_it_is_calibrated():
    rng = np.random.default_rng(4)
    x, labels = clusters(rng, unit(rng.standard_normal((2, DIM))), 10)
    score = DistanceScore().fit(x, labels, "out_of_scope")
    assert (score.gap(unit(rng.standard_normal((5, DIM)))) == 0).all()


def test_it_measures_the_nearest_category_direction_on_the_classifier_s_embedding():
    """A fine-tuned encoder's category directions live in the space of the classifier's
    embedding, which may differ from the one the other distances are measured on."""
    rng = np.random.default_rng(5)
    centres = unit(rng.standard_normal((3, DIM)))
    x, labels = clusters(rng, centres, 60)
    other_view = unit(x + 0.3 * rng.standard_normal(x.shape))  # what the distances are measured on
    score = DistanceScore().fit(other_view, labels, "out_of_scope", directions=centres)
    held, _ = clusters(rng, centres, 15)
    score.calibrate(unit(held + 0.3 * rng.standard_normal(held.shape)), held)
    assert "category_similarity" in score.scale
    ours, _ = clusters(rng, centres, 25)
    strangers = unit(rng.standard_normal((len(ours), DIM)))
    view = unit(ours + 0.3 * rng.standard_normal(ours.shape))
    assert np.median(score.features(view, ours)["category_similarity"]) > 0.9
    assert np.median(score.features(view, strangers)["category_similarity"]) < 0.6
    # Only the directions see the second embedding: the others are the same without it.
    with_it, without = score.features(view, strangers), score.features(view)
    assert np.array_equal(with_it["similarity"], without["similarity"])
    assert not np.array_equal(with_it["category_similarity"], without["category_similarity"])
    # Far from every direction lowers the gap.
    assert np.median(score.gap(view, strangers)) < np.median(score.gap(view, ours))


def test_a_score_pickled_before_the_directions_existed_still_scores():
    rng = np.random.default_rng(6)
    centres = unit(rng.standard_normal((3, DIM)))
    score = fitted(rng, centres)
    state = score.__getstate__()
    del state["directions"]  # as an artefact written before 2026-12-04 holds it
    again = DistanceScore.__new__(DistanceScore)  # what unpickling does: no __init__
    again.__dict__.update(state)
    ours, _ = clusters(rng, centres, 5)
    assert set(again.features(ours)) == {"similarity", "class_distance"}
    assert np.array_equal(again.gap(ours), score.gap(ours))
