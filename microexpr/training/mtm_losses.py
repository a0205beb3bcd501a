"""MTMNet's loss terms (paper 003, eqs. 3-11), each a small function tested against hand-computed
values, and the weights that combine them.

EIDNet (eq. 6): ``L_EID = L_c + 0.1 L_rec + 0.1 L_sim - 0.1 L_s``.

* ``L_c``: cross-entropy of D_e on the expression embedding.
* ``L_rec`` (:func:`reconstruction_loss`): the paper's ``||x_E - D_r([f_E^e, f_N^s])||_2``, taken as
  the mean squared pixel error (images in [0, 1]), the usual implementation of an "L2"
  reconstruction loss: the Euclidean norm of a 224x224x3 difference would be ~400x larger
  and swamp ``L_c`` at weight 0.1.
* ``L_sim`` (:func:`identity_similarity_loss`): the Euclidean distance between the identity
  embeddings of the expression and the neutral image of a clip, averaged over the batch.
* ``L_s``: cross-entropy of the identity classifier D_s on the *expression* embedding. D_s
  minimises it; the encoder maximises it. Implemented with a **gradient reversal layer**
  (:func:`reverse_gradient`): the total loss adds ``0.1 * L_s(D_s(GRL(f_e)))``, so D_s
  receives ``+0.1 dL_s`` and the encoder ``-0.1 dL_s`` in one backward pass (no alternating
  updates).

MTMNet (eq. 11): ``L_MTM = L_cls + 1e-3 (L_tri + L_adv + L_LIR)``.

* ``L_tri`` (:func:`triplet_loss`): ``max(||a - p|| - ||a - n|| + m, 0)`` averaged over the
  batch (PyTorch's ``triplet_margin_loss``), a = micro anchor, p = macro positive (same
  class), n = micro negative (another class); the margin ``m`` is not given (config; 1.0).
* ``L_D`` / ``L_adv`` (:func:`discriminator_loss`, :func:`adversarial_loss`): with
  ``D(f) = sigmoid(logit)`` the probability of "macro", ``L_D = -log D(f_pos) - log(1 - D(f_anc))``
  trains D (the anchor detached: D's step never moves the MicroNet), ``L_adv = -log D(f_anc)``
  trains the MicroNet's encoder to make micro embeddings look macro (D's parameters are not
  stepped by it).
* ``L_LIR`` (:func:`lir_loss`): ``max(L_cls - L_cls', 0)`` per triplet, averaged: ``L_cls`` the
  MicroNet classifier's cross-entropy on the anchor, ``L_cls'`` the *frozen MacroNet's own*
  classifier's cross-entropy on the macro positive (the paper says "the classifier" for both;
  the MacroNet's is the one trained on macro-expressions, and it is frozen, so ``L_cls'`` is a
  target, not a trainable term). Per triplet, not per batch mean, so one easy triplet cannot
  hide a hard one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


class _ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:  # noqa: ANN001
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: ANN001
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity in the forward pass; multiplies the gradient by ``-scale`` in the backward pass."""
    return _ReverseGradient.apply(x, float(scale))


def reconstruction_loss(image: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """L_rec: mean squared pixel error between the expression image and its reconstruction."""
    return F.mse_loss(reconstruction, image)


def identity_similarity_loss(f_s_expression: torch.Tensor, f_s_neutral: torch.Tensor) -> torch.Tensor:
    """L_sim: Euclidean distance between the two identity embeddings of each clip, batch mean."""
    return (f_s_expression - f_s_neutral).norm(dim=1).mean()


def triplet_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float) -> torch.Tensor:
    """L_tri: ``mean(max(||a - p|| - ||a - n|| + margin, 0))`` (Euclidean distances)."""
    return F.triplet_margin_loss(anchor, positive, negative, margin=margin, p=2.0, eps=0.0)


def discriminator_loss(logit_macro: torch.Tensor, logit_micro: torch.Tensor) -> torch.Tensor:
    """L_D = -log D(f_pos) - log(1 - D(f_anc)), batch means; D(f) = sigmoid(logit)."""
    return (F.binary_cross_entropy_with_logits(logit_macro, torch.ones_like(logit_macro))
            + F.binary_cross_entropy_with_logits(logit_micro, torch.zeros_like(logit_micro)))


def adversarial_loss(logit_micro: torch.Tensor) -> torch.Tensor:
    """L_adv = -log D(f_anc), batch mean: small when D takes the micro embedding for a macro one."""
    return F.binary_cross_entropy_with_logits(logit_micro, torch.ones_like(logit_micro))


def lir_loss(micro_logits: torch.Tensor, labels: torch.Tensor, macro_logits: torch.Tensor) -> torch.Tensor:
    """L_LIR = mean over triplets of max(CE(micro anchor) - CE(macro positive), 0)."""
    ce_micro = F.cross_entropy(micro_logits, labels, reduction="none")
    ce_macro = F.cross_entropy(macro_logits, labels, reduction="none")
    return torch.clamp(ce_micro - ce_macro, min=0.0).mean()


@dataclass(frozen=True)
class EIDWeights:
    """Weights of eq. 6 (the paper's 0.1 each); 0 switches a term off (ablations)."""

    classification: float = 1.0
    reconstruction: float = 0.1
    similarity: float = 0.1
    identity_adversary: float = 0.1


@dataclass(frozen=True)
class MTMWeights:
    """Weights of eq. 11 (the paper's 1e-3 for the three transfer terms); 0 switches one off."""

    classification: float = 1.0
    triplet: float = 1e-3
    adversarial: float = 1e-3
    lir: float = 1e-3
