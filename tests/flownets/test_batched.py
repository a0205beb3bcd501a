"""Batched multi-fold training gives the predictions of fold-by-fold training (same seeds).

Tolerance: max |Δprobability| <= 1e-4 after 4 epochs at the paper's lr (5e-5). The two
paths differ only by floating-point rounding (one convolution per fold vs one per stream,
BatchNorm applied after pooling, summation order). Adam amplifies rounding: a gradient
component that is ~0 up to rounding becomes a step of +-lr after normalisation, so the
difference grows with lr and the number of updates (measured here: ~1e-6 at lr 5e-5;
~1e-4 at lr 1e-3; at lr 1e-2 the runs drift apart after ~10 epochs).

Both batched backends are covered: ``fused`` (the compiled kernels; what ``auto`` picks
when a C compiler is present, so the method-level test runs it) is checked against
autograd on the ``nn.Module``s step by step, and against ``eager`` over whole trainings.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from microexpr.errors import ConfigError, ModelError
from microexpr.methods import RunContext, create_method
from microexpr.models import create_model
from microexpr.models.layers import dropout_scale_mask
from microexpr.training import stream_kernels
from microexpr.training.batched import StackedAdam, StackedStreamNet, train_folds_batched
from microexpr.training.fused_step import FusedStreamStep
from microexpr.training.loop import TrainConfig, predict_proba
from microexpr.training.seeding import FoldSeeds, seeded_init
from tests.flownets.synthetic import CLASSES, clip_table, flow_images, loso_folds, write_pngs

TOL = 1e-4


@pytest.fixture(scope="module")
def cde(tmp_path_factory):
    """A small synthetic CDE: 3 datasets x 3 subjects; one subject has fewer clips, so
    folds differ in size and in the number of batches per epoch."""
    table = clip_table(n_subjects=3, clips_per_class=2)
    table = table.drop(index=table.index[table.subject == "samm/007"][:4]).reset_index(drop=True)
    folder = write_pngs(table, flow_images(table), tmp_path_factory.mktemp("png"))
    return table, folder


@pytest.mark.parametrize("name,extra", [
    ("ststnet", {"class_balance": True}),
    ("laenet", {"pretrain_ckplus": False, "eye_mask": False, "val_fraction": 0.3}),
])
def test_batched_equals_per_fold(cde, tmp_path, name, extra):
    table, folder = cde
    params = dict(epochs=4, lr=5e-5, batch_size=22, flow_png_dir=str(folder), fold_chunk=3, **extra)
    ctx = RunContext(run_dir=tmp_path, cache_dir=tmp_path, classes=CLASSES, seed=7, progress=False)
    folds = loso_folds(table)
    assert len({len(tr) for tr, _ in folds}) > 1  # ragged folds exercised
    batched = create_method(name, params).fit_predict_folds(folds, ctx)
    for i in (0, 4, 8):  # per-fold reference on three folds (4 = the small subject) to save time
        (train, test), pb = folds[i], batched[i]
        fctx = ctx.for_fold(test.subject[0], frozenset(test.subject))
        m = create_method(name, params).fit(train, fctx)
        pf = m.predict_proba(test, fctx)
        assert np.abs(pf - pb).max() <= TOL, f"fold {test.subject[0]}"
    other_seed = create_method(name, params).fit_predict_folds(folds[:1], RunContext(
        run_dir=tmp_path, cache_dir=tmp_path, classes=CLASSES, seed=8, progress=False))
    assert np.abs(other_seed[0] - batched[0]).max() > 1e-3  # the seed matters


def test_stacked_forward_matches_modules_with_negative_bn_scale():
    torch.manual_seed(0)
    models = [create_model("ststnet") for _ in range(3)]
    with torch.no_grad():
        for m in models:
            for _, bn in m.streams():
                bn.weight.uniform_(-1, 1)
                bn.bias.normal_()
    x = torch.rand(3, 6, 3, 28, 28) * 255
    sizes = [6, 4, 0]
    out = StackedStreamNet(models).forward(x, sizes, training=True)
    for f, m in enumerate(models[:2]):
        m.train()
        m.dropout.p = 0.0
        ref = m(x[f, :sizes[f]])
        np.testing.assert_allclose(out[f, :sizes[f]].detach().numpy(), ref.detach().numpy(), atol=1e-5)


def test_stacked_adam_matches_torch_adam_and_skips_inactive_folds():
    g = torch.Generator().manual_seed(0)
    p0 = torch.randn(2, 5, generator=g)
    grads = [torch.randn(2, 5, generator=g) for _ in range(3)]
    stacked = p0.clone()
    opt = StackedAdam([stacked], 2, weight_decay=0.01)
    active = [np.array([True, True]), np.array([True, False]), np.array([True, True])]
    for gr, a in zip(grads, active):
        opt.step([gr], a, lr=0.1)
    for f in range(2):
        p = torch.nn.Parameter(p0[f].clone())
        ref = torch.optim.Adam([p], lr=0.1, weight_decay=0.01)
        for gr, a in zip(grads, active):
            if a[f]:
                p.grad = gr[f].clone()
                ref.step()
        np.testing.assert_allclose(stacked[f].numpy(), p.detach().numpy(), rtol=1e-6, atol=1e-7)


def _module_grads(m, xb, yb, mask):
    """Loss and parameter gradients of one training step of ``m`` (autograd on the module)."""
    m.train()
    m.zero_grad()
    outs = [m.maxpool(bn(m.relu(conv(xb)))) for conv, bn in m.streams()]
    logits = m.fc(torch.flatten(m.avgpool(torch.cat(outs, 1) * mask), 1))
    loss = torch.nn.functional.cross_entropy(logits, yb)
    loss.backward()
    cat = lambda get: torch.cat([get(c, b) for c, b in m.streams()])  # noqa: E731
    grads = [cat(lambda c, b: c.weight.grad), cat(lambda c, b: c.bias.grad), cat(lambda c, b: b.weight.grad),
             cat(lambda c, b: b.bias.grad), m.fc.weight.grad, m.fc.bias.grad]
    return float(loss.detach()), grads


def _assert_fold_matches_autograd(model, f, x_all, y_all, rows, sizes, masks, losses, grads, floor=0.0):
    """Fold ``f``'s loss and every gradient from the fused step equal autograd on ``model``."""
    n = sizes[f]
    ref_loss, ref = _module_grads(model, x_all[rows[f, :n]], y_all[rows[f, :n]], masks[f, :n])
    assert abs(float(losses[f]) - ref_loss) < 1e-5
    for g, r in zip(grads, ref):
        np.testing.assert_allclose(g[f].numpy(), r.numpy(), rtol=0, atol=2e-5 * float(r.abs().max()) + floor)


@pytest.mark.parametrize("name", ["ststnet", "laenet"])
def test_fused_step_matches_autograd_on_the_module(name):
    """The compiled kernels give the loss and every gradient of autograd on ``nn.Module``s:
    ragged folds (one empty), negative BN scales (min-pooling), tied maxima (a flat image
    region) and dropout masks."""
    torch.manual_seed(0)
    models = [create_model(name) for _ in range(3)]
    with torch.no_grad():
        for m in models:
            for _, bn in m.streams():
                bn.weight.uniform_(-1, 1)
                bn.bias.normal_()
    x_all = torch.rand(40, 3, 28, 28) * 255
    x_all[:6, :, 8:20, 8:20] = 7.0  # identical patches: ties inside pooling windows
    y_all = torch.randint(0, 3, (40,))
    net = StackedStreamNet(models)
    step = FusedStreamStep(net)
    rows = torch.stack([torch.randperm(40)[:12] for _ in range(3)])
    rows[0, :6] = torch.arange(6)
    sizes = [12, 7, 0]
    K, P = net.channels, models[0].pooled_size
    masks = (torch.rand(3, 12, K, P, P) > 0.5).float() * 2
    losses, grads = step(step.pad_images(x_all), rows, sizes, y_all[rows], masks)
    for f in range(2):
        _assert_fold_matches_autograd(models[f], f, x_all, y_all, rows, sizes, masks, losses, grads)
        # running statistics: BatchNorm's own update (momentum 0.1, unbiased variance)
        rm = torch.cat([bn.running_mean for _, bn in models[f].streams()])
        rv = torch.cat([bn.running_var for _, bn in models[f].streams()])
        np.testing.assert_allclose(net.running_mean[f].numpy(), rm.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(net.running_var[f].numpy(), rv.numpy(), rtol=1e-5, atol=1e-6)
    assert all(float(g[2].abs().max()) == 0 for g in grads)  # the empty fold gets no gradient
    assert int(net.batches_tracked[2]) == 0 and int(net.batches_tracked[0]) == 1


def _train_tiny(backend, augment=None, epochs=3):
    torch.manual_seed(1)
    x = torch.rand(30, 3, 28, 28) * 255
    y = torch.arange(30) % 3
    folds = [torch.arange(0, 25), torch.arange(5, 30), torch.arange(0, 30, 2)]
    seeds = [FoldSeeds.for_fold(3, [str(i) for i in f.tolist()]) for f in folds]
    models = []
    for s in seeds:
        with seeded_init(s.init):
            models.append(create_model("ststnet"))
    cfg = TrainConfig(epochs=epochs, lr=1e-3, batch_size=8)
    hists = train_folds_batched(models, x, y, folds, cfg, seeds, augment=augment, fold_chunk=2, backend=backend)
    return [predict_proba(m, x) for m in models], hists


@pytest.mark.parametrize("augment", [None, "colour_shift"])
def test_fused_and_eager_backends_train_the_same_models(augment):
    aug = None
    if augment == "colour_shift":
        from microexpr.training.augment import colour_shift
        aug = lambda xb, g: colour_shift(xb, 20.0, g, p=0.5)  # noqa: E731
    fused, h_fused = _train_tiny("fused", aug)
    eager, h_eager = _train_tiny("eager", aug)
    for a, b, ha, hb in zip(fused, eager, h_fused, h_eager):
        assert np.abs(a - b).max() <= TOL
        np.testing.assert_allclose(ha.train_loss, hb.train_loss, rtol=1e-4)


def test_auto_backend_falls_back_to_eager_with_a_warning(monkeypatch, caplog):
    import microexpr.training.batched as batched

    def broken(geom):
        raise RuntimeError("no C compiler found (test)")

    monkeypatch.setattr(batched, "load_stream_kernels", broken)
    with caplog.at_level(logging.WARNING):
        probs, _ = _train_tiny("auto", epochs=1)
    assert "no C compiler found (test)" in caplog.text and "eager" in caplog.text
    eager, _ = _train_tiny("eager", epochs=1)
    assert all(np.array_equal(a, b) for a, b in zip(probs, eager))  # the eager path ran
    with pytest.raises(ModelError, match="backend='eager'"):
        _train_tiny("fused", epochs=1)


def test_kernel_build_without_a_compiler_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(stream_kernels, "_compilers", lambda: [])
    with pytest.raises(RuntimeError, match="no C compiler"):
        stream_kernels.build_library(stream_kernels.Geometry(3, 16, 28, 2, 3))


def test_out_of_range_labels_or_rows_are_rejected_before_training():
    x = torch.rand(6, 3, 28, 28)
    models = [create_model("ststnet")]
    seeds = [FoldSeeds.for_fold(0, ["a"])]
    cfg = TrainConfig(epochs=1, batch_size=4)
    with pytest.raises(ConfigError, match="labels outside 0..2"):
        train_folds_batched(models, x, torch.tensor([0, 1, 2, 5, 0, 1]), [torch.arange(6)], cfg, seeds)
    with pytest.raises(ConfigError, match=r"row positions in \[0, 6\)"):
        train_folds_batched(models, x, torch.zeros(6, dtype=torch.long), [torch.tensor([0, 6])], cfg, seeds)


def test_fused_step_splits_folds_across_threads_without_changing_results():
    torch.manual_seed(2)
    models = [create_model("ststnet") for _ in range(3)]
    x_all = torch.rand(20, 3, 28, 28) * 255
    rows = torch.stack([torch.randperm(20)[:9] for _ in range(3)])
    labels = torch.randint(0, 3, (3, 9))
    sizes = [9, 5, 8]
    results = []
    for threads in (1, 2):
        net = StackedStreamNet(models)
        step = FusedStreamStep(net, threads=threads)
        gens = [torch.Generator().manual_seed(f) for f in range(3)]
        masks = net.dropout_masks(sizes, gens, 10, step.fold_map)
        losses, grads = step(step.pad_images(x_all), rows, sizes, labels, masks)
        step.close()
        results.append([masks, losses, *grads, net.running_mean, net.running_var])
    for a, b in zip(*results):
        assert torch.equal(a, b)
    # the masks are SeededDropout's draws, stream by stream, from each fold's generator
    g = torch.Generator().manual_seed(1)
    ref = torch.cat([dropout_scale_mask((5, w, 10, 10), 0.5, g) for w in (3, 5, 8)], 1)
    assert torch.equal(results[0][0][1, :5], ref) and not results[0][0][1, 5:].any()


@pytest.mark.parametrize("threads", [1, 2])
def test_fused_step_drawing_its_own_dropout_equals_given_seeded_masks(threads):
    """``drop_generators``: each fold's worker draws the masks inside the step; the losses,
    gradients, running statistics and generator states equal those of a step given
    ``dropout_masks``' masks (SeededDropout's draws), bit for bit."""
    torch.manual_seed(3)
    models = [create_model("ststnet", drop_rate=0.3) for _ in range(3)]
    x_all = torch.rand(20, 3, 28, 28) * 255
    rows = torch.stack([torch.randperm(20)[:9] for _ in range(3)])
    labels = torch.randint(0, 3, (3, 9))
    sizes = [9, 0, 6]
    results, states = [], []
    for own in (False, True):
        net = StackedStreamNet(models)
        step = FusedStreamStep(net, threads=threads)
        gens = [torch.Generator().manual_seed(40 + f) for f in range(3)]
        if own:
            losses, grads = step(step.pad_images(x_all), rows, sizes, labels, drop_generators=gens)
        else:
            masks = net.dropout_masks(sizes, gens, 10)
            losses, grads = step(step.pad_images(x_all), rows, sizes, labels, masks)
        step.close()
        results.append([losses, *grads, net.running_mean, net.running_var])
        states.append([g.get_state() for g in gens])
    for a, b in zip(*results):
        assert torch.equal(a, b)
    for a, b in zip(*states):
        assert torch.equal(a, b)
    assert float(results[0][1].abs().max()) > 0  # a real step (not all zeros)


def test_compiled_uniform_draws_are_torch_rand():
    """``StreamKernels.uniform`` (mt19937 in C on the generator's state) gives torch.rand's
    float64 values and leaves the generator where torch.rand would, across state refills
    and when one call replaces several (the dropout streams' draws back to back)."""
    kern = stream_kernels.load_stream_kernels(stream_kernels.Geometry(3, 16, 28, 2, 3))
    assert kern.reproduces_torch_rand  # this build: the fused step uses the C draws
    g_ref, g = torch.Generator().manual_seed(99), torch.Generator().manual_seed(99)
    for sizes in ([3 * 100, 5 * 100, 8 * 100], [1], [7, 623, 624, 625], [30000, 2]):
        ref = torch.cat([torch.rand(n, dtype=torch.float64, generator=g_ref) for n in sizes])
        out = torch.full((sum(sizes),), -1.0, dtype=torch.float64)
        kern.uniform(g, out)
        assert torch.equal(out, ref)
        assert torch.equal(g.get_state(), g_ref.get_state())
    assert float(out.min()) >= 0 and float(out.max()) < 1


@pytest.mark.parametrize("p", [0.5, 0.3])
def test_dropout_masks_are_seeded_dropouts_draws(p):
    """Stream by stream, the values ``dropout_scale_mask`` (``SeededDropout``) draws from each
    fold's generator, which is left in the same state -- whichever way this machine draws."""
    models = [create_model("ststnet", drop_rate=p) for _ in range(2)]
    net = StackedStreamNet(models)
    gens = [torch.Generator().manual_seed(11 + f) for f in range(2)]
    ref_gens = [torch.Generator().manual_seed(11 + f) for f in range(2)]
    for sizes in ([7, 3], [64, 0]):
        masks = net.dropout_masks(sizes, gens, 10)
        for f, n in enumerate(sizes):
            if n:
                ref = torch.cat([dropout_scale_mask((n, w, 10, 10), p, ref_gens[f]) for w in (3, 5, 8)], 1)
                assert torch.equal(masks[f, :n], ref)
            assert not masks[f, n:].any()
    for g, r in zip(gens, ref_gens):
        assert torch.equal(g.get_state(), r.get_state())
    assert set(torch.unique(masks).tolist()) == {0.0, float(torch.tensor(1.0).mul_(1.0 / (1.0 - p)))}


def test_without_fused_kernels_the_method_trains_fold_by_fold_with_the_same_predictions(cde, tmp_path, monkeypatch, caplog):
    """No C compiler: the eager batched path would be slower than per-fold training, so the
    method falls back to fold-by-fold training and says so."""
    import microexpr.methods.flownets as flownets

    table, folder = cde
    params = dict(epochs=2, lr=5e-5, batch_size=22, flow_png_dir=str(folder))
    ctx = RunContext(run_dir=tmp_path, cache_dir=tmp_path, classes=CLASSES, seed=3, progress=False)
    folds = loso_folds(table)[:2]
    batched = create_method("ststnet", params).fit_predict_folds(folds, ctx)
    monkeypatch.setattr(flownets, "fused_unavailable_reason", lambda model: "no C compiler found")
    calls = []
    monkeypatch.setattr(flownets, "train_folds_batched", lambda *a, **k: calls.append(1))
    with caplog.at_level(logging.WARNING, logger="microexpr"):
        fallback = create_method("ststnet", params).fit_predict_folds(folds, ctx)
    assert not calls
    assert "no C compiler found; training the 2 folds one by one" in caplog.text
    for a, b in zip(batched, fallback):
        assert np.abs(a - b).max() <= TOL


def test_training_accuracy_is_the_same_from_the_fused_kernels_and_pytorch():
    """The kernels count training-mode hits (first maximum, as torch.argmax) for the history."""
    _, h_fused = _train_tiny("fused")
    _, h_eager = _train_tiny("eager")
    for hf, he in zip(h_fused, h_eager):
        assert len(hf.train_acc) == len(hf.train_loss) == 3
        assert all(0.0 <= a <= 1.0 for a in hf.train_acc)
        np.testing.assert_allclose(hf.train_acc, he.train_acc, atol=1e-12)
    assert len({round(a, 6) for h in h_fused for a in h.train_acc}) > 1  # not a constant: it tracks the model


@pytest.mark.parametrize("widths,padding,num_classes,in_chans", [
    ((2, 3), 1, 2, 3),        # 5 channels: padded to 8 inside the kernels
    ((4, 4, 5), 2, 4, 3),     # 13 channels: a second padded block of 8
    ((6,), 1, 5, 2),          # one stream, 2 input channels (OFF-ApexNet-like), 5 classes
])
def test_fused_step_matches_autograd_on_shapes_no_shipped_model_uses(widths, padding, num_classes, in_chans):
    from microexpr.models.layers import ParallelStreamNet

    torch.manual_seed(2)
    models = [ParallelStreamNet(widths, padding=padding, num_classes=num_classes, in_chans=in_chans) for _ in range(2)]
    x_all = torch.rand(20, in_chans, 28, 28) * 255
    y_all = torch.randint(0, num_classes, (20,))
    net = StackedStreamNet(models)
    step = FusedStreamStep(net)
    rows = torch.stack([torch.randperm(20)[:9] for _ in range(2)])
    sizes = [9, 5]
    K, P = net.channels, models[0].pooled_size
    masks = (torch.rand(2, 9, K, P, P) > 0.5).float() * 2
    losses, grads = step(step.pad_images(x_all), rows, sizes, y_all[rows], masks)
    for f in range(2):
        n = sizes[f]
        _assert_fold_matches_autograd(models[f], f, x_all, y_all, rows, sizes, masks, losses, grads, floor=1e-8)
        m, xb = models[f], x_all[rows[f, :n]]
        with torch.no_grad():  # the same training-mode forward (batch statistics, these dropout masks)
            outs = [m.maxpool(bn(m.relu(conv(xb)))) for conv, bn in m.streams()]
            logits = m.fc(torch.flatten(m.avgpool(torch.cat(outs, 1) * masks[f, :n]), 1))
        assert float(step.last_correct[f]) == int((logits.argmax(1) == y_all[rows[f, :n]]).sum())  # the history's hits
