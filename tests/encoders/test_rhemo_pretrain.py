"""RH-emo's two stages through ``serkit pretrain`` on the demo corpus
(configs/pretrain/demo_rhemo.yaml): derived V/A/D targets marked in ``targets.csv``, the
package and the report; stage 2 initialised from stage 1 (recorded, fingerprinted); the
``map`` layer through the ``encoder`` extractor."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from tests.faults._cli import serkit

from serkit.encoders.config import fingerprint, load_pretrain_config
from serkit.encoders.package import load_encoder, read_encoder_meta
from serkit.features import get_extractor

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "pretrain"
STAGE2 = ["name=demo_rhemo_stage2", "encoder.init=runs/demo_rhemo", "encoder.params.beta=0.01"]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    from serkit.corpora import prepare
    from serkit.demo import make_corpus

    root = tmp_path_factory.mktemp("rhemo")
    make_corpus(root / "demo" / "corpus", speakers=2, sentences=1, seed=0)
    prepare("ravdess", root / "demo" / "corpus", output=root / "demo" / "manifests")
    shutil.copy(CONFIGS / "demo_rhemo.yaml", root / "demo_rhemo.yaml")
    return root


def test_the_shipped_rhemo_configs_are_stage_one_then_stage_two_from_it():
    stage1 = load_pretrain_config(CONFIGS / "rhemo_stage1.yaml")
    assert stage1["encoder"]["params"]["beta"] == 0.0 and stage1["encoder"]["init"] is None
    text = (CONFIGS / "rhemo_stage2.yaml").read_text()
    assert "init: runs/rhemo_stage1" in text and "beta: 0.01, beta_vad: 100.0" in text


def test_two_stages_on_the_demo_corpus(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    code, out, err = serkit(
        ["pretrain", "demo_rhemo.yaml", "training.epochs=1"], capsys, monkeypatch
    )
    assert code == 0, err
    stage1 = load_encoder(project / "runs" / "demo_rhemo")
    manifest = pd.read_parquet(project / "demo" / "manifests" / "ravdess.parquet")
    assert float(stage1.net.scale) > 0 and stage1.meta["norm"] == {}  # max-scaled, no z-score

    # the demo corpus has no ratings: every V/A/D target is derived, neutral gets none
    targets = pd.read_csv(project / "runs" / "demo_rhemo" / "targets.csv")
    speech = manifest[manifest["mode"] == "speech"]
    assert len(targets) == len(speech)
    neutral = targets["emotion"] == "neutral"
    assert targets.loc[~neutral, "vad_source"].eq("derived").all()
    assert targets.loc[neutral, "vad_source"].isna().all()
    assert targets.loc[neutral, ["valence", "arousal", "dominance"]].isna().all().all()
    angry = targets[targets["emotion"] == "angry"][["valence", "arousal", "dominance"]]
    assert len(angry) and (angry.to_numpy() == [0.0, 1.0, 1.0]).all()
    sources = stage1.meta["extra"]["targets"]["sources"]
    assert sources == {"corpus": 0, "derived": int((~neutral).sum()), "none": int(neutral.sum())}
    report = (project / "runs" / "demo_rhemo" / "report.md").read_text()
    assert f"DERIVED from the emotion {int((~neutral).sum())}" in report

    code, out, err = serkit(
        ["pretrain", "demo_rhemo.yaml", "training.epochs=1", *STAGE2], capsys, monkeypatch
    )
    assert code == 0, err
    assert "initialised from runs/demo_rhemo/encoder" in out and "ce " in out
    run2 = project / "runs" / "demo_rhemo_stage2"
    meta = read_encoder_meta(run2 / "encoder")
    assert meta["extra"]["init"]["key"] == stage1.key()
    assert meta["extra"]["init"]["skipped"] == []
    assert "initialised from" in (run2 / "report.md").read_text()
    stage2 = load_encoder(run2)
    assert float(stage2.net.scale) == float(stage1.net.scale)  # kept from stage 1
    changed = [
        k
        for k, v in stage2.net.state_dict().items()
        if v.dtype.is_floating_point and not torch.equal(v, stage1.net.state_dict()[k])
    ]
    assert "encoder.0.weight" in changed  # trained on from stage 1's weights

    # a retrained stage 1 makes stage 2 another config (the init package's key is hashed)
    cfg = load_pretrain_config(project / "demo_rhemo.yaml", STAGE2)
    before = fingerprint(cfg)
    code, _, err = serkit(
        ["pretrain", "demo_rhemo.yaml", "training.epochs=1", "training.seed=2", "--overwrite"],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    assert fingerprint(cfg) != before

    # the map layer through the encoder extractor: (windows, 4 * T/8 * F/2) per utterance
    ex = get_extractor("encoder", path=str(run2), layer="map", pooling="none")
    assert ex.level == "frame"
    signal = np.random.default_rng(0).normal(0, 0.1, 16000 * 2).astype(np.float32)
    out = ex(signal, 16000)
    frames = stage2.frames(signal, 16000).shape[0]  # 251: four 64-frame windows, the last
    assert out.shape == (4, 4 * (64 // 8) * (128 // 2)) and frames == 251  # aligned to the end
    with torch.no_grad():
        z = stage2.net.encode_map(
            stage2.net.prepare_windows(torch.from_numpy(stage2.frames(signal, 16000)))
        )
    np.testing.assert_allclose(out, z.reshape(4, -1).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("encoder.init=runs/nothing_here", "encoder.init: runs/nothing_here: not an encoder"),
        ("encoder.init=3", "encoder.init must be"),
    ],
)
def test_a_bad_init_is_refused_by_its_key(project, monkeypatch, override, match):
    from serkit.errors import ConfigError

    monkeypatch.chdir(project)
    with pytest.raises(ConfigError, match=match):
        load_pretrain_config(project / "demo_rhemo.yaml", [override])


def test_init_from_another_family_is_refused(project, tmp_path, monkeypatch):
    from tests.encoders._save import save_family

    from serkit.errors import ConfigError

    monkeypatch.chdir(project)
    save_family("vae", tmp_path / "vae_pkg")
    with pytest.raises(ConfigError, match="holds a 'vae' encoder, this config trains 'rhemo'"):
        load_pretrain_config(project / "demo_rhemo.yaml", [f"encoder.init={tmp_path / 'vae_pkg'}"])


def test_a_stopped_stage_two_resumes_to_the_uninterrupted_weights(project, monkeypatch):
    from serkit.encoders.pretrain import pretrain

    monkeypatch.chdir(project)
    if not (project / "runs" / "demo_rhemo" / "encoder").is_dir():
        pretrain(load_pretrain_config(project / "demo_rhemo.yaml", ["training.epochs=1"]))
    base = ["training.epochs=2", "encoder.init=runs/demo_rhemo", "encoder.params.beta=0.01"]
    whole = pretrain(load_pretrain_config(project / "demo_rhemo.yaml", [*base, "name=whole"]))
    cfg = load_pretrain_config(project / "demo_rhemo.yaml", [*base, "name=parts"])
    lines: list[str] = []
    pretrain(cfg, stop_after_epochs=1)
    parts = pretrain(cfg, log=lines.append)
    assert any("resuming after epoch 1" in line for line in lines)
    a, b = load_encoder(whole).net.state_dict(), load_encoder(parts).net.state_dict()
    for key in a:
        torch.testing.assert_close(a[key], b[key])


def _demo_rows_and_frames(project: Path, pkg) -> tuple[pd.DataFrame, list[np.ndarray]]:
    import soundfile as sf

    from serkit import manifest as mf

    rows = mf.read(project / "demo" / "manifests" / "ravdess.parquet")
    root = Path(rows.attrs["root"])
    rows = rows[rows["mode"] == "speech"].reset_index(drop=True)
    frames = [pkg.frames(*sf.read(root / p, dtype="float32")) for p in rows["path"]]
    return rows, frames


def test_a_short_training_gives_map_latents_that_differ_between_utterances(project, monkeypatch):
    """Fails on a collapsed encoder (the seed's linear max-scaling on TurEV-DB + URDU: the
    first ReLU zero everywhere, the latent the same for every input)."""
    from serkit.encoders.pretrain import pretrain
    from serkit.encoders.rhemo_eval import collapse_stats

    monkeypatch.chdir(project)
    run = pretrain(load_pretrain_config(project / "demo_rhemo.yaml", ["name=demo_rhemo_spread"]))
    pkg = load_encoder(run)
    assert pkg.net.magnitude == "log"  # the cpu preset
    _, frames = _demo_rows_and_frames(project, pkg)
    windows = torch.cat([pkg.net.prepare_windows(torch.from_numpy(f))[:1] for f in frames])
    stats = collapse_stats(pkg.net, windows)
    assert stats["latent_spread"] > 0.015 and stats["latent_varying"] > 0.65, stats
    assert max(stats["relu_zero_fraction"]) < 0.95, stats

    # the seed's linear max-scaling, same data and seed: a latent closer to constant
    overrides = ["name=demo_rhemo_linear", "encoder.params.magnitude=linear"]
    linear = load_encoder(pretrain(load_pretrain_config(project / "demo_rhemo.yaml", overrides)))
    lin_windows = torch.cat([linear.net.prepare_windows(torch.from_numpy(f))[:1] for f in frames])
    lin = collapse_stats(linear.net, lin_windows)
    assert lin["latent_spread"] < stats["latent_spread"] / 2, (lin, stats)

    # the same measure on the same net with its first ReLU killed (what collapsed) fails
    with torch.no_grad():
        pkg.net.encoder[0].bias.fill_(-1e3)
    dead = collapse_stats(pkg.net, windows)
    assert dead["relu_zero_fraction"][0] == 1.0
    assert dead["latent_spread"] < 1e-6 and dead["latent_varying"] == 0.0, dead


def test_head_evaluation_from_frames_and_from_cached_maps_agree(project, monkeypatch):
    from serkit.corpora import vad_targets
    from serkit.encoders.pretrain import pretrain
    from serkit.encoders.rhemo_eval import evaluate_heads

    monkeypatch.chdir(project)
    run = project / "runs" / "demo_rhemo_heads"
    if not (run / "encoder").is_dir():
        stage1 = project / "runs" / "demo_rhemo_spread"
        init = [f"encoder.init={stage1}"] if (stage1 / "encoder").is_dir() else []
        run = pretrain(
            load_pretrain_config(
                project / "demo_rhemo.yaml",
                ["name=demo_rhemo_heads", "training.epochs=2", "encoder.params.beta=1.0", *init],
            )
        )
    pkg = load_encoder(run)
    rows, frames = _demo_rows_and_frames(project, pkg)
    res = evaluate_heads(pkg.net, pkg.classes, rows, frames=frames)
    maps = [pkg.embed_frames(f, layer="map") for f in frames]
    again = evaluate_heads(pkg.net, pkg.classes, rows, maps=maps)
    assert again["recon_bce"] is None and 0 < res["recon_bce"] < 1
    for key, value in res.items():
        if key != "recon_bce":
            assert again[key] == pytest.approx(value), key

    # the figures, recomputed by hand from the heads' window logits
    logits = {k: [] for k in ("emotion", *vad_targets.DIMENSIONS)}
    with torch.no_grad():
        for f in frames:
            out = pkg.net.head_logits(pkg.net.encode_map(pkg.net.prepare_windows(torch.tensor(f))))
            for k, v in out.items():
                logits[k].append(v.mean(0).numpy())
    pred = np.asarray(pkg.classes)[np.stack(logits["emotion"]).argmax(1)]
    truth = rows["emotion"].astype(str).to_numpy()
    assert res["emotion_rows"] == len(rows)  # the demo's labels are the head's classes
    assert res["emotion_acc"] == pytest.approx(np.mean(pred == truth))
    targets = vad_targets.binary_targets(rows)
    for dim in vad_targets.DIMENSIONS:
        t = targets[dim].to_numpy()
        ok = ~np.isnan(t)
        assert res[f"{dim}_rows"] == ok.sum() < len(rows)  # neutral rows have no target
        hit = (np.asarray(logits[dim])[ok] > 0) == (t[ok] == 1)
        assert res[f"{dim}_acc"] == pytest.approx(hit.mean())
        assert res[f"{dim}_majority"] == pytest.approx(max(t[ok].mean(), 1 - t[ok].mean()))
    with pytest.raises(ValueError, match="exactly one of frames= or maps="):
        evaluate_heads(pkg.net, pkg.classes, rows, frames=frames, maps=maps)


def test_init_from_a_package_with_other_input_compression_is_refused(
    project, tmp_path, monkeypatch
):
    """Stage 2 must read its inputs in stage 1's units (magnitude, dynamic range, bins)."""
    from tests.encoders._save import save_family

    from serkit.errors import ConfigError

    monkeypatch.chdir(project)
    save_family("rhemo", tmp_path / "pkg")
    params = read_encoder_meta(tmp_path / "pkg")["params"]
    same = [f"encoder.params.{k}={params[k]}" for k in ("magnitude", "dynamic_range_db", "bins")]
    other = "linear" if params["magnitude"] == "log" else "log"
    init = f"encoder.init={tmp_path / 'pkg'}"
    cfg = load_pretrain_config(project / "demo_rhemo.yaml", [init, *same])
    assert cfg["encoder"]["init"] == str(tmp_path / "pkg")
    match = f"trained with magnitude='{params['magnitude']}'.*gives magnitude='{other}'"
    with pytest.raises(ConfigError, match=match):
        load_pretrain_config(
            project / "demo_rhemo.yaml", [init, *same, f"encoder.params.magnitude={other}"]
        )
