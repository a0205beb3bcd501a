"""Model artefacts: round trip through torch's safe loader, refusal of tampered and foreign files,
and ``export_run`` (re-fit on all clips of a run)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from microexpr.artefacts import FORMAT_TAG, artefact_digest, export_run, load_artefact, save_artefact
from microexpr.errors import ModelError
from microexpr.models import create_model

CLASSES = ("negative", "positive", "surprise")


def _payload(seed: int = 0) -> dict:
    torch.manual_seed(seed)
    model = create_model("laenet", num_classes=3)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))  # non-default weights
    return {"model_name": "laenet", "model_kwargs": {"num_classes": 3, "drop_rate": 0.5},
            "state_dict": model.state_dict(), "input_name": "flow_image", "input_params": {"eye_mask": True},
            "input_transform": {"pixel_convention": "rgb01", "channels": (0, 1, 2)}}, model


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    payload, model = _payload()
    path = save_artefact(tmp_path / "m.pt", payload, classes=CLASSES, training={"run_name": "t", "n_clips": 7})
    return path, model


def test_round_trip_through_the_safe_loader(saved):
    path, model = saved
    raw = torch.load(path, weights_only=True)  # PyTorch's safe path accepts the file as is
    assert raw["format"] == FORMAT_TAG and raw["sha256"] == artefact_digest(raw)
    art = load_artefact(path)
    assert art.classes == CLASSES and art.model_name == "laenet" and art.training["n_clips"] == 7
    assert set(art.versions) == {"microexpr", "torch", "opencv", "numpy", "python"}
    # input params are fully resolved (every default of the representation written down)
    assert art.input_params["eye_mask"] is True and art.input_params["flow_method"] == "tvl1"
    assert art.input_params["margins"] == [25, 0, 5, 5] and art.input_params["size"] == 28
    assert art.input_transform == {"pixel_convention": "rgb01", "channels": [0, 1, 2]}
    x = torch.rand(4, 3, 28, 28)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(art.build_model()(x), model(x), rtol=0, atol=0)


def _resave(path: Path, edit) -> None:
    raw = torch.load(path, weights_only=True)
    edit(raw)
    torch.save(raw, path)


@pytest.mark.parametrize("edit", [
    lambda a: a["model"]["state_dict"]["fc.weight"].add_(1e-6),
    lambda a: a["input"]["params"].__setitem__("eye_mask", False),
    lambda a: a["classes"].reverse(),
], ids=["weight", "preprocessing", "classes"])
def test_tampered_artefact_is_refused(saved, edit):
    path, _ = saved
    _resave(path, edit)
    with pytest.raises(ModelError, match="digest mismatch.*modified or corrupted"):
        load_artefact(path)


def test_flipped_bytes_are_refused(saved):
    """One byte flipped inside the largest tensor's storage (torch does not check the zip CRCs)."""
    import struct
    import zipfile

    path, _ = saved
    with zipfile.ZipFile(path) as z:
        info = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    data = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.file_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=str(path)):
        load_artefact(path)


def test_wrong_format_version_is_refused(saved):
    path, _ = saved

    def edit(a):
        a["format_version"] = 99
        a["sha256"] = artefact_digest(a)

    _resave(path, edit)
    with pytest.raises(ModelError, match="format version 99"):
        load_artefact(path)


class _Evil:
    def __reduce__(self):
        return (Path.touch, (Path(_Evil.marker),))


def test_foreign_files_are_refused(tmp_path):
    plain = tmp_path / "state_dict.pt"
    torch.save(create_model("laenet").state_dict(), plain)
    with pytest.raises(ModelError, match="not a microexpr model artefact.*foreign checkpoint"):
        load_artefact(plain)
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(ModelError, match="not a PyTorch archive"):
        load_artefact(text)
    _Evil.marker = str(tmp_path / "pwned")
    evil = tmp_path / "evil.pt"
    torch.save({"format": FORMAT_TAG, "payload": _Evil()}, evil)
    with pytest.raises(ModelError, match="safe loader"):
        load_artefact(evil)
    assert not (tmp_path / "pwned").exists()  # the pickle's code never ran
    legacy = tmp_path / "legacy.pkl"
    legacy.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelError, match="not a PyTorch archive"):
        load_artefact(legacy)
    with pytest.raises(ModelError, match="not found"):
        load_artefact(tmp_path / "missing.pt")


def test_bad_payloads_are_refused_before_writing(tmp_path):
    payload, _ = _payload()
    with pytest.raises(ModelError, match="lacks.*state_dict"):
        save_artefact(tmp_path / "a.pt", {k: v for k, v in payload.items() if k != "state_dict"}, classes=CLASSES, training={})
    with pytest.raises(ModelError, match="training.when holds a"):
        save_artefact(tmp_path / "b.pt", payload, classes=CLASSES, training={"when": object()})
    wrong = dict(payload, model_kwargs={"num_classes": 5})
    with pytest.raises(ModelError, match="do not fit model 'laenet'"):
        save_artefact(tmp_path / "c.pt", wrong, classes=CLASSES, training={})
    assert not any(tmp_path.iterdir())  # nothing left behind


def test_export_refuses_a_method_without_export_payload(tmp_path):
    from microexpr.cliptable import new_clip_table
    from microexpr.runs import RunData

    raw = {"name": "maj", "data": {"datasets": {"casme2": None}, "scheme": "composite3", "synthetic": True},
           "protocol": {"name": "loso"}, "method": {"name": "majority"}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw))
    rows = [dict(dataset="casme2", subject=f"casme2/s{i}", clip="c", key=f"casme2/s{i}/c", frames=("/x.jpg",), fps=200.0,
                 onset=0, apex=0, offset=0, apex_source="annotated", emotion="happiness", aus=(), label=i % 3,
                 label_name=CLASSES[i % 3]) for i in range(3)]
    data = RunData(new_clip_table(rows), CLASSES, synthetic=True)
    with pytest.raises(ModelError, match="'majority' cannot be exported"):
        export_run(tmp_path, tmp_path / "m.pt", progress=False, data=data)


def test_export_run_refits_on_all_clips(tmp_path_factory):
    from tests.predict.demo_model import METHOD_NAME, demo_run
    from microexpr.config import config_from_dict
    from microexpr.inputs import load_inputs
    from microexpr.runs import load_run_data
    from microexpr.training.loop import predict_proba

    demo = demo_run(tmp_path_factory.getbasetemp() / "demo")
    art = load_artefact(demo.model)
    t = art.training
    assert t["n_clips"] == 40 and t["datasets"] == ["casme2", "samm"] and t["seed"] == 0 and t["synthetic"] is True
    assert t["config"]["method"]["name"] == METHOD_NAME and t["run_name"] == "demo_hde_test"
    assert art.input_params["flow_method"] == "farneback" and art.input_params["eye_mask"] is True
    # the weights are the ones fitted on all 40 clips: they classify those clips far above chance
    table = load_run_data(config_from_dict(t["config"])).table
    x = load_inputs(table, "flow_image", art.input_params, cache_dir=demo.cache, n_jobs=1, progress=False)
    proba = predict_proba(art.build_model(), torch.from_numpy(x.astype(np.float32).transpose(0, 3, 1, 2) / 255.0))
    acc = float(np.mean(proba.argmax(1) == table["label"].to_numpy()))
    assert acc >= 0.75, acc


def test_export_cli_is_reproducible(tmp_path_factory, tmp_path, capsys):
    """``microexpr export`` again on the same run: same seed, same clips -> bit-identical weights and digest."""
    from tests.predict.demo_model import demo_run
    from microexpr.cli import main

    demo = demo_run(tmp_path_factory.getbasetemp() / "demo")
    out = tmp_path / "again.pt"
    assert main(["export", str(demo.run_dir), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"written: {out}" in printed and "trained on 40 clips of casme2, samm" in printed
    again, first = load_artefact(out), load_artefact(demo.model)
    assert again.sha256 == first.sha256
    assert all(torch.equal(again.state_dict[k], first.state_dict[k]) for k in first.state_dict)
