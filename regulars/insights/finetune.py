"""Fine-tuning the sentence encoder on the company's own categories (embedding backend, ``ml``
extra).

The shipped all-MiniLM-L6-v2 places sentences by general meaning. Trained on a help desk's own
categories, it learns which differences matter there: messages of one category move together,
categories move apart, and a message that fits none of them stays far from all of them, which
is what the out-of-scope score (``outofscope.DistanceScore``) measures.

How: a cosine classifier on the mean-pooled, unit-length sentence embedding, one weight vector
per category started at that category's mean embedding, trained with the large-margin cosine loss
(CosFace: the right category's cosine minus ``margin``, times ``scale``, in a softmax), so a
category's examples must sit clearly closer to it than to any other. Every transformer layer is
trained (AdamW, linear warm-up over the first tenth, then linear decay to zero); the word
embeddings stay as shipped, so words the training data never used keep their meaning. Batches
hold messages of similar length (less padding), shuffled. The classifier head is thrown away:
only the encoder is kept, exported to ONNX like the shipped one.

Everything is seeded; the result depends only on the data, the settings and the library
versions. Cost on this 2-core machine: about 0.3 s per batch of 32, so two passes over 9,000
messages take 2-3 minutes (bench/RESULTS.md).
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class FineTuning:
    """Settings. Common values for fine-tuning a small sentence encoder, set before any run and
    not searched: on validation splits they beat the shipped encoder on CLINC150, BANKING77-OOS
    and Banking77 (bench/RESULTS.md); no other setting was tried."""

    epochs: float = 2.0
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-2
    scale: float = 20.0
    margin: float = 0.2
    batch_size: int = 32
    seed: int = 0
    # Below this many examples a category's mean says little; fine-tuning is skipped.
    min_examples: int = 200


def fine_tune(
    sentence_transformer: Any,
    texts: Sequence[str],
    labels: Sequence[int] | NDArray[np.int64],
    *,
    settings: FineTuning = FineTuning(),
    progress: Callable[[str], None] | None = None,
) -> Any:
    """A fine-tuned copy of ``sentence_transformer`` (the shared encoder is left as it is).

    ``labels`` are category indices, one per text; an out-of-scope label is trained like any
    other category, so it gathers the messages agents marked as not for us."""
    import torch  # type: ignore[import-not-found,unused-ignore]
    import torch.nn.functional as F  # type: ignore[import-not-found,unused-ignore]

    tuned = copy.deepcopy(sentence_transformer)
    model = tuned[0].auto_model
    tokenizer = tuned.tokenizer
    generator = random.Random(settings.seed)
    torch.manual_seed(settings.seed)
    for parameter in model.parameters():
        parameter.requires_grad = False
    for parameter in model.encoder.parameters():
        parameter.requires_grad = True

    def embed(batch: Sequence[str]) -> Any:
        encoded = tokenizer(list(batch), padding=True, truncation=True, max_length=128, return_tensors="pt")
        hidden = model(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return F.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1)

    y = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    n_classes = int(y.max()) + 1
    by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    model.eval()
    with torch.inference_mode():
        start = torch.zeros(len(texts), model.config.hidden_size)
        for first in range(0, len(by_length), 256):
            rows = by_length[first : first + 256]
            start[rows] = embed([texts[i] for i in rows])
    centres = torch.stack(
        [
            start[y == c].mean(0) if bool((y == c).any()) else torch.randn(start.shape[1])
            for c in range(n_classes)
        ]
    )
    head = torch.nn.Parameter(F.normalize(centres, dim=-1))
    optimiser = torch.optim.AdamW(
        [
            {"params": [p for p in model.parameters() if p.requires_grad], "lr": settings.learning_rate},
            {"params": [head], "lr": settings.head_learning_rate},
        ],
        weight_decay=0.01,
    )
    total = max(1, int(math.ceil(len(texts) / settings.batch_size) * settings.epochs))
    warm = max(1.0, 0.1 * total)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / warm) * max(0.0, (total - step) / total)
    )
    model.train()
    step, started = 0, time.perf_counter()
    while step < total:
        for batch in _batches(len(texts), texts, settings.batch_size, generator):
            if step >= total:
                break
            cosines = embed([texts[i] for i in batch]) @ F.normalize(head, dim=-1).T
            truth = y[batch]
            logits = settings.scale * (cosines - settings.margin * F.one_hot(truth, n_classes))
            loss = F.cross_entropy(logits, truth)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            if progress is not None and (step % 50 == 0 or step == total):
                progress(
                    f"fine-tuning the encoder: step {step} of {total} ({time.perf_counter() - started:.0f} s)"
                )
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad = False
    # The trained category directions (unit rows, one per label index), for the out-of-scope score.
    tuned.category_directions = F.normalize(head.detach(), dim=-1).numpy().astype(np.float32)
    return tuned


def _batches(n: int, texts: Sequence[str], size: int, generator: random.Random) -> list[list[int]]:
    """One pass in shuffled batches of similar length: shuffle, sort within chunks of 50
    batches by length, cut, shuffle the batches."""
    order = list(range(n))
    generator.shuffle(order)
    batches: list[list[int]] = []
    for first in range(0, n, size * 50):
        chunk = sorted(order[first : first + size * 50], key=lambda i: len(texts[i]))
        batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    generator.shuffle(batches)
    return batches
