"""The ATNet model: stream shapes, L2-normalised fusion, LSTM time average, variants, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from microexpr.errors import ModelError
from microexpr.models import create_model
from microexpr.models.atnet import ATNet, atnet
from microexpr.models.resnet10 import resnet10


def small(variant: str, **kw: object) -> ATNet:
    torch.manual_seed(0)
    args = dict(variant=variant, base_width=4, lstm_hidden=6, adm_shape=(5, 8))
    args.update(kw)
    return atnet(**args)  # type: ignore[arg-type]


def test_full_width_dimensions_match_the_paper():
    """512-d per stream, 1024 after concatenation, linear 1024 -> 3."""
    fusion = create_model("atnet")
    assert fusion.stream_dims == (512, 512) and fusion.num_features == 1024
    assert tuple(fusion.fc.weight.shape) == (3, 1024)
    assert fusion.temporal.num_layers == 2 and fusion.temporal.hidden_size == 512 and fusion.temporal.input_size == 128
    assert fusion.dropout.p == 0.5
    # The spatial stream is exactly a ResNet-10 without its classifier.
    ref = resnet10(base_width=64)
    n_ref = sum(p.numel() for n, p in ref.named_parameters() if not n.startswith("fc."))
    assert sum(p.numel() for p in fusion.spatial.parameters()) == n_ref
    assert create_model("atnet", variant="spatial").num_features == 512
    assert create_model("atnet", variant="temporal").num_features == 512


def test_fusion_features_are_l2_normalised_streams_concatenated():
    model = small("fusion").eval()
    apex, adm = model.example_input(3)
    with torch.no_grad():
        f = model.forward_features(apex, adm)
        s = model.spatial_features(apex)
        t = model.temporal_features(adm)
    assert f.shape == (3, 32 + 6)
    # eq. 7 by hand: O / sqrt(O^T O)
    s_ref = s / torch.sqrt((s * s).sum(dim=1, keepdim=True))
    t_ref = t / torch.sqrt((t * t).sum(dim=1, keepdim=True))
    assert torch.allclose(f[:, :32], s_ref, atol=1e-6)
    assert torch.allclose(f[:, 32:], t_ref, atol=1e-6)
    assert torch.allclose(f[:, :32].norm(dim=1), torch.ones(3), atol=1e-5)


def _lstm_reference(lstm: torch.nn.LSTM, x: np.ndarray) -> np.ndarray:
    """A plain numpy LSTM (PyTorch gate order i, f, g, o), top-layer outputs averaged over time."""
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    seq = x.astype(np.float64)
    for layer in range(lstm.num_layers):
        w_ih = getattr(lstm, f"weight_ih_l{layer}").detach().double().numpy()
        w_hh = getattr(lstm, f"weight_hh_l{layer}").detach().double().numpy()
        b = (getattr(lstm, f"bias_ih_l{layer}") + getattr(lstm, f"bias_hh_l{layer}")).detach().double().numpy()
        n_hidden = w_hh.shape[1]
        h = np.zeros((seq.shape[0], n_hidden))
        c = np.zeros_like(h)
        outs = []
        for t in range(seq.shape[1]):
            z = seq[:, t] @ w_ih.T + h @ w_hh.T + b
            i, f, g, o = np.split(z, 4, axis=1)
            c = sig(f) * c + sig(i) * np.tanh(g)
            h = sig(o) * np.tanh(c)
            outs.append(h)
        seq = np.stack(outs, axis=1)
    return seq.mean(axis=1)


def test_temporal_stream_is_the_time_average_of_the_top_lstm_layer():
    model = small("temporal", lstm_layers=2).eval()
    _, adm = model.example_input(4)
    with torch.no_grad():
        got = model.forward_features(None, adm).numpy()
    np.testing.assert_allclose(got, _lstm_reference(model.temporal, adm.numpy()), atol=1e-5)


def test_variants_use_only_their_streams():
    apex, adm = small("fusion").example_input(2)
    spatial = small("spatial").eval()
    temporal = small("temporal").eval()
    assert spatial.temporal is None and temporal.spatial is None
    with torch.no_grad():
        # the unused input is ignored: None and a real tensor give the same output
        assert torch.equal(spatial(apex, None), spatial(apex, adm))
        assert torch.equal(temporal(None, adm), temporal(apex, adm))
    assert spatial(apex, None).shape == temporal(None, adm).shape == (2, 3)


def test_dropout_only_in_the_fusion_head_and_seeded():
    fusion = small("fusion").train()
    apex, adm = fusion.example_input(2)
    feats = fusion.forward_features(apex, adm).detach()
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    fusion.dropout.generator = g1
    a = fusion.forward_head(feats)
    fusion.dropout.generator = g2
    b = fusion.forward_head(feats)
    assert torch.equal(a, b)
    fusion.dropout.generator = torch.Generator().manual_seed(2)
    assert not torch.equal(a, fusion.forward_head(feats))
    assert isinstance(small("temporal").dropout, torch.nn.Identity)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ModelError, match="unknown ATNet variant 'both'"):
        atnet(variant="both")
    model = small("temporal")
    with pytest.raises(ModelError, match=r"ADM input of shape \(B, 5, 8\)"):
        model(None, torch.zeros(2, 64, 128))
    with pytest.raises(ModelError, match="needs the ADM sequence"):
        model(torch.zeros(2, 1, 32, 32), None)
    with pytest.raises(ModelError, match="needs the apex image"):
        small("fusion")(None, torch.zeros(2, 5, 8))
