"""Training: the generic loop, per-fold seeding, sampling, batched multi-fold training.

- ``loop.TrainConfig``, ``loop.train_model(model, x, y, cfg, seeds, *, groups, augment,
  sampler, progress, desc, log)``, ``loop.predict_proba(model, x)``, ``loop.lr_at``;
- ``seeding.FoldSeeds.for_fold(seed, train_keys)``, ``seeding.seeded_init(seed)``;
- ``sampling.shuffled_indices`` / ``sequential_indices`` / ``balanced_indices`` (samplers:
  ``(labels, generator) -> indices``), ``sampling.validation_split``,
  ``sampling.no_single_batches``;
- ``batched.train_folds_batched(models, x_all, y_all, fold_indices, cfg, seeds, ...,
  backend="auto"|"fused"|"eager")`` for the STSTNet/LAENet family; the fused backend's
  compiled kernels are ``stream_kernels`` (C source, build, cache) driven by ``fused_step``;
  ``batched.fused_unavailable_reason(model)``;
- ``checkpoints.save_state`` / ``load_state``: state-dict files, written atomically.
(``augment.py`` and ``transfer.py`` belong to the ResNet-10 recipes.)
"""
