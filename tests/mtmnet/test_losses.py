"""MTMNet's loss terms against values computed by hand on tiny tensors, and the signs and
directions of the adversarial terms."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from microexpr.training.mtm_losses import (
    adversarial_loss,
    discriminator_loss,
    identity_similarity_loss,
    lir_loss,
    reconstruction_loss,
    reverse_gradient,
    triplet_loss,
)


def test_triplet_margin_hinge() -> None:
    a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    p = torch.tensor([[3.0, 4.0], [1.0, 0.0]])  # distances 5 and 1
    n = torch.tensor([[1.0, 0.0], [0.0, 3.0]])  # distances 1 and 3
    # max(5 - 1 + 1, 0) = 5 ; max(1 - 3 + 1, 0) = 0
    assert triplet_loss(a, p, n, margin=1.0).item() == pytest.approx(2.5)
    assert triplet_loss(a, p, n, margin=3.0).item() == pytest.approx((7 + 1) / 2)


def test_discriminator_and_adversarial_signs() -> None:
    macro = torch.tensor([0.0])  # D = 0.5
    micro = torch.tensor([math.log(3.0)], requires_grad=True)  # D = 0.75
    # L_D = -log 0.5 - log(1 - 0.75) = log 2 + log 4 = log 8
    assert discriminator_loss(macro, micro).item() == pytest.approx(math.log(8.0))
    # L_adv = -log 0.75
    adv = adversarial_loss(micro)
    assert adv.item() == pytest.approx(-math.log(0.75))
    adv.backward()
    assert micro.grad.item() == pytest.approx(0.75 - 1.0)  # descending L_adv raises D(f_anc): micro looks macro
    micro.grad = None
    discriminator_loss(macro, micro).backward()
    assert micro.grad.item() == pytest.approx(0.75)  # descending L_D lowers D(f_anc): D learns micro = fake


def test_lir_is_a_per_triplet_hinge() -> None:
    labels = torch.tensor([0, 0])
    micro = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])  # CE log 2, -log 0.75
    macro = torch.tensor([[math.log(3.0), 0.0], [0.0, 0.0]])  # CE -log 0.75, log 2
    want = (math.log(2.0) + math.log(0.75) + 0.0) / 2  # second triplet: micro already better -> 0
    assert lir_loss(micro, labels, macro).item() == pytest.approx(want)
    # a batch mean of the difference would cancel the two out
    assert want > 0.0 and (F.cross_entropy(micro, labels) - F.cross_entropy(macro, labels)).item() == pytest.approx(0.0)


def test_reconstruction_and_identity_similarity() -> None:
    x = torch.tensor([[[[0.0, 1.0]]]])
    r = torch.tensor([[[[0.5, 0.5]]]])
    assert reconstruction_loss(x, r).item() == pytest.approx(0.25)
    fe = torch.tensor([[3.0, 4.0], [1.0, 1.0]])
    fn = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    assert identity_similarity_loss(fe, fn).item() == pytest.approx(2.5)


def test_identity_adversary_pushes_the_encoder_uphill_and_its_classifier_downhill() -> None:
    """0.1 * L_s through the reversal layer: the identity classifier D_s gets +0.1 dL_s (it learns
    the subject), the encoder gets exactly -0.1 dL_s (it unlearns it)."""
    torch.manual_seed(0)
    encoder, d_s = nn.Linear(4, 3), nn.Linear(3, 5)
    x, subject = torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 4, 0])

    def grads(reverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
        encoder.zero_grad()
        d_s.zero_grad()
        f = encoder(x)
        loss = 0.1 * F.cross_entropy(d_s(reverse_gradient(f) if reverse else f), subject)
        loss.backward()
        return encoder.weight.grad.clone(), d_s.weight.grad.clone()

    enc_plain, ds_plain = grads(False)
    enc_rev, ds_rev = grads(True)
    assert enc_plain.abs().sum() > 0
    torch.testing.assert_close(enc_rev, -enc_plain)
    torch.testing.assert_close(ds_rev, ds_plain)
