"""TLCNN's frame CNN at full width reproduces the feature-map sizes the paper prints (§3.3:
"96 x 55 x 55" into C2, "384 x 13 x 13" after C2's pooling and LRN, "512 x 13 x 13",
"512 x 13 x 13", "384 x 13 x 13" out of C3, C4, C5; FC6 and FC7 4096; 4 classes)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from microexpr.models import create_model


def test_full_width_feature_maps_are_the_papers():
    net = create_model("tlcnn")
    x = torch.zeros(1, 3, 227, 227)
    with torch.no_grad():
        m1 = net.lrn(F.max_pool2d(F.relu(net.c1(x)), 3, 2, ceil_mode=True))
        assert tuple(m1.shape[1:]) == (96, 55, 55)
        m2 = net.lrn(F.max_pool2d(F.relu(net.c2(m1)), 3, 2, ceil_mode=True))
        assert tuple(m2.shape[1:]) == (384, 13, 13)
        c3 = net.c3(m2)
        c4 = net.c4(c3)
        c5 = net.c5(c4)
        assert [tuple(t.shape[1:]) for t in (c3, c4, c5)] == [(512, 13, 13), (512, 13, 13), (384, 13, 13)]
        assert tuple(net.conv(x).shape[1:]) == (384, 13, 13)
        assert net.fc6_features(x).shape == (1, 4096) and net(x).shape == (1, 4)
    assert (net.fc6.out_features, net.fc7.out_features, net.fc.out_features) == (4096, 4096, 4)
    assert net.map_sizes() == {"c1": 111, "pool1": 55, "c2": 26, "pool2": 13, "c5": 13, "pool5": 6}
    # floor-mode pooling would give 12 x 12 after C2, not the printed 13 x 13
    assert F.max_pool2d(torch.zeros(1, 1, 26, 26), 3, 2).shape[-1] == 12


def test_stage3_reads_fc6_features_of_every_frame():
    model = create_model("tlcnn_lstm", widths=(4, 6, 8, 8, 6), fc=16, input_size=67, lstm_hidden=8, frames=5)
    x = model.example_input(2)
    assert x.shape == (2, 5, 3, 67, 67) and model(x).shape == (2, 4)
    assert model.lstm.input_size == model.cnn.fc6.out_features == 16


def test_he_initialisation():
    """He normal (std sqrt(2 / fan_in)) and zero biases on every conv and linear layer, not
    PyTorch's default uniform (std about 1/sqrt(3 fan_in)), which left the narrow net untrained."""
    import math

    torch.manual_seed(0)
    net = create_model("tlcnn")
    for layer, fan_in in ((net.c2, 96 * 25), (net.c5, 512 * 9), (net.fc6, 384 * 6 * 6)):
        assert float(layer.weight.std()) == pytest.approx(math.sqrt(2 / fan_in), rel=0.03)
        assert float(layer.bias.abs().max()) == 0.0
    c3d = create_model("c3d")
    assert float(c3d.convs[1].weight.std()) == pytest.approx(math.sqrt(2 / (64 * 27)), rel=0.03)
