"""Epoch orders, class balancing and validation splits, each drawn from an explicit generator.

A *sampler* is any callable ``(labels: LongTensor, generator) -> LongTensor`` returning the
indices of one epoch (with repeats allowed); the training loop splits them into batches.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..errors import ConfigError

Sampler = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def shuffled_indices(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random permutation of the training set (the default)."""
    return torch.randperm(len(labels), generator=generator)


def sequential_indices(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The training set in table order (no shuffling; draws nothing)."""
    return torch.arange(len(labels))


def balanced_indices(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Class-balanced resampling: every class oversampled to the majority count, shuffled.

    Each class keeps all its samples once, then the shortfall is drawn uniformly with
    replacement from that class (so no sample is dropped); the result is shuffled.
    """
    labels = torch.as_tensor(labels)
    classes, counts = torch.unique(labels, return_counts=True)
    target = int(counts.max())
    parts = []
    for c, n in zip(classes.tolist(), counts.tolist()):
        idx = torch.nonzero(labels == c, as_tuple=False).flatten()
        parts.append(idx)
        if n < target:
            parts.append(idx[torch.randint(n, (target - n,), generator=generator)])
    allidx = torch.cat(parts)
    return allidx[torch.randperm(len(allidx), generator=generator)]


def no_single_batches(base: Sampler, batch_size: int) -> Sampler:
    """``base``'s epoch order, avoiding a final 1-sample batch.

    BatchNorm cannot train on one sample when the last stage is 1x1 (small inputs): when the
    order would end with a lone sample, that one (randomly drawn) index sits out the epoch.
    """

    def sample(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        order = base(labels, generator)
        return order[:-1] if len(order) % batch_size == 1 and len(order) > 1 else order

    return sample


def validation_split(groups: np.ndarray, fraction: float, generator: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Hold out whole groups (subjects) of the training set: ``(train_idx, val_idx)``.

    ``round(fraction * n_groups)`` groups (at least one) are drawn at random; never the
    test fold's subjects, which the training set does not contain.
    """
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"val_fraction must be in (0, 1) to carve a validation split, got {fraction}")
    groups = np.asarray(groups)
    uniq = np.array(sorted(set(groups.tolist())))
    if len(uniq) < 2:
        raise ConfigError(f"val_fraction={fraction}: the training set has {len(uniq)} subject(s); need at least 2 to hold one out")
    n_val = min(len(uniq) - 1, max(1, int(round(fraction * len(uniq)))))
    order = torch.randperm(len(uniq), generator=generator).numpy()
    val_groups = set(uniq[order[:n_val]].tolist())
    is_val = np.array([g in val_groups for g in groups.tolist()])
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)
