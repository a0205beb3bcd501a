"""``microexpr synth``: switches map to nuisance settings; an existing corpus is reused."""

from __future__ import annotations

from microexpr.cli import build_parser, main
from microexpr.cli.synth_cmd import nuisances_from_args
from microexpr.synth import Nuisances


def test_no_switches_turn_off_each_nuisance() -> None:
    parser = build_parser()
    assert nuisances_from_args(parser.parse_args(["synth", "x"])) == Nuisances()
    args = parser.parse_args(["synth", "x", "--no-blinks", "--no-head-motion", "--no-flicker", "--no-noise", "--no-jpeg"])
    assert nuisances_from_args(args) == Nuisances.off()
    only = nuisances_from_args(parser.parse_args(["synth", "x", "--no-jpeg"]))
    assert only.jpeg_quality is None and only.noise == Nuisances().noise


def test_synth_reuses_existing_corpus_and_refuses_other_settings(quick_corpus, capsys) -> None:
    corpus, roots = quick_corpus
    assert main(["synth", str(corpus), "--size", "quick", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert str(roots["casme2"]) in out and "not how a method does on real micro-expressions" in out
    assert main(["synth", str(corpus), "--size", "quick", "--seed", "0", "--no-noise"]) == 2
    assert "different settings" in capsys.readouterr().err
