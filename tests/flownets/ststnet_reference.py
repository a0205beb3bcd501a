"""The released STSTNet, independently of our class: a state dict in its key layout built by
hand, and its eval-mode forward pass written from METHODS.md with torch.nn.functional."""

from __future__ import annotations

import torch


def published_state() -> dict[str, torch.Tensor]:
    """A state dict in the released STSTNet key layout, built by hand (not from our class)."""
    g = torch.Generator().manual_seed(3)
    st = {}
    for i, w in enumerate((3, 5, 8), start=1):
        st[f"conv{i}.weight"] = torch.randn(w, 3, 3, 3, generator=g)
        st[f"conv{i}.bias"] = torch.randn(w, generator=g)
    for i, w in enumerate((3, 5, 8), start=1):
        st[f"bn{i}.weight"] = torch.rand(w, generator=g) + 0.5
        st[f"bn{i}.bias"] = torch.randn(w, generator=g)
        st[f"bn{i}.running_mean"] = torch.randn(w, generator=g) * 10
        st[f"bn{i}.running_var"] = torch.rand(w, generator=g) * 100 + 1
        st[f"bn{i}.num_batches_tracked"] = torch.tensor(1600)
    st["fc.weight"] = torch.randn(3, 400, generator=g) * 0.05
    st["fc.bias"] = torch.randn(3, generator=g)
    return st


def reference_forward(st: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Eval-mode STSTNet written directly from METHODS.md with torch.nn.functional."""
    F = torch.nn.functional
    outs = []
    for i in (1, 2, 3):
        h = F.relu(F.conv2d(x, st[f"conv{i}.weight"], st[f"conv{i}.bias"], padding=2))
        h = F.batch_norm(h, st[f"bn{i}.running_mean"], st[f"bn{i}.running_var"], st[f"bn{i}.weight"], st[f"bn{i}.bias"], False)
        outs.append(F.max_pool2d(h, 3, 3, 1))
    return F.linear(F.avg_pool2d(torch.cat(outs, 1), 2).flatten(1), st["fc.weight"], st["fc.bias"])
