"""SpeechFlow pretraining figures (issue 15, seed 000): held-out reconstruction MSE per removal
condition (REC against NRFC, the all-components-removed baseline), pretraining time and
conversion speed of a ``speechflow`` package.

Held-out utterances: the speakers ``configs/pretrain/speechflow_cpu.yaml`` excludes from its
training rows (``--heldout``, default URDU SM2 + SF6) and RAVDESS speech (``--ravdess`` rows; no
RAVDESS speaker is in its training rows). MSE: mean squared error over the valid frames and
the 80 mel bands of the [0, 1] mel, pooled over the utterances' frames. Two references that
need no model, computed from each target mel itself (:func:`reference_errors`): ``MEAN``, every
frame replaced by the utterance's mean spectrum, and ``MEAN+LEVEL``, that spectrum shifted by
each frame's mean level (one number per frame, what an energy contour alone can carry); a
decoder that reads content and pitch must beat both. Conversion speed:
utterances per second of one condition, from audio (front end + Resemblyzer + decompose) and
of the net alone (decompose), one torch thread, this machine.

``--snapshot DIR`` writes a package from the running pretrain's last checkpoint (``--run``'s
``checkpoints/all/last.pt``, built with ``--config``) so that a study can start before the
pretraining ends; a package's meta records the epoch as ``extra.snapshot_epoch``.

    nice -n 10 python benchmarks/speechflow.py --run /tmp/sflow/runs/speechflow_cpu \\
        --out /tmp/sflow/speechflow.md
    python benchmarks/speechflow.py --snapshot /tmp/sflow/packages/epoch05 \\
        --config configs/pretrain/speechflow_cpu.yaml --run /tmp/sflow/runs/speechflow_cpu
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from _report import add_out_option, md_table, write_table

MANIFESTS = Path("/tmp/aug_bench/manifests")
RUN = Path("/tmp/sflow/runs/speechflow_cpu")
HELDOUT = ["urdu/SM2", "urdu/SF6"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=RUN, help="pretrain run folder")
    parser.add_argument("--package", type=Path, default=None, help="default: --run")
    parser.add_argument("--manifests", type=Path, default=MANIFESTS)
    parser.add_argument("--heldout", nargs="*", default=HELDOUT, help="held-out speakers")
    parser.add_argument("--ravdess", type=int, default=96, help="RAVDESS rows (0: none)")
    parser.add_argument("--max-rows", type=int, default=60, help="rows per held-out set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--snapshot", type=Path, default=None, help="write a package, exit")
    parser.add_argument("--config", type=Path, default=Path("configs/pretrain/speechflow_cpu.yaml"))
    add_out_option(parser, "speechflow.md")
    return parser


def snapshot(config: Path, run: Path, folder: Path) -> Path:
    """A package from ``run``'s last checkpoint (the net built as the pretrain loop builds it)."""
    from serkit.encoders.config import load_pretrain_config
    from serkit.encoders.package import save_encoder
    from serkit.encoders.pretrain import build_family, select_rows
    from serkit.features.frontend import Frontend
    from serkit.models.checkpoints import read_checkpoint

    cfg = load_pretrain_config(config)
    saved = read_checkpoint(run / "checkpoints" / "all" / "last.pt")
    state = saved["model"]
    cond_dim = 256 if cfg["condition"] == "speaker" else 0
    input_dim = int(state["decoder.out.weight"].shape[0]) + 1
    net = build_family(cfg, input_dim, 0, cond_dim)
    net.load_state_dict(state)
    net.eval()
    rows = select_rows(cfg)
    return save_encoder(
        net,
        folder,
        frontend=Frontend.from_config(cfg["features"]),
        input_dim=input_dim,
        ids=rows["id"].astype(str).tolist(),
        speakers=rows["speaker"].astype(str).tolist(),
        condition=cfg["condition"],
        cond_dim=cond_dim,
        history=list(saved["history"]),
        extra={"snapshot_epoch": int(saved["epoch"]), "config": cfg},
    )


def _rows(manifests: Path, heldout: list[str], ravdess: int, limit: int, seed: int):
    import pandas as pd

    from serkit.manifest import audio_paths

    sets = {}
    for corpus in sorted({s.split("/")[0] for s in heldout}):
        df = pd.read_parquet(manifests / f"{corpus}.parquet")
        df = df[df["speaker"].isin(heldout)]
        sets[f"{corpus} held-out ({', '.join(s for s in heldout if s.startswith(corpus))})"] = df
    if ravdess:
        df = pd.read_parquet(manifests / "ravdess.parquet")
        sets["RAVDESS speech"] = df[df.get("mode", "speech") == "speech"]
    out = {}
    for name, df in sets.items():
        attrs = dict(df.attrs)
        n = min(len(df), ravdess if name.startswith("RAVDESS") else limit)
        df = df.sample(n=n, random_state=seed) if n < len(df) else df
        df.attrs = attrs
        out[name] = audio_paths(df)
    return out


#: the model-free references of :func:`reference_errors`
REFERENCES: tuple[str, ...] = ("MEAN", "MEAN+LEVEL")


def reference_errors(mel: np.ndarray) -> dict[str, float]:
    """Summed squared errors of the two model-free references for one mel ``(frames, bands)``.

    ``MEAN``: every frame is the utterance's mean spectrum; ``MEAN+LEVEL``: that spectrum plus
    the frame's own mean level minus the utterance's (the best one-number-per-frame shift).

    >>> mel = np.array([[0.0, 0.2], [0.4, 0.6]])
    >>> {k: round(v, 6) for k, v in reference_errors(mel).items()}
    {'MEAN': 0.16, 'MEAN+LEVEL': 0.0}
    """
    centred = mel - mel.mean(axis=0)
    level = mel.mean(axis=1, keepdims=True) - mel.mean()
    return {"MEAN": float((centred**2).sum()), "MEAN+LEVEL": float(((centred - level) ** 2).sum())}


def evaluate(pkg: Any, paths: list[Path]) -> dict[str, Any]:
    """MSE per condition over ``paths`` and the conversion speed (REC)."""
    import torch

    from serkit import audio
    from serkit.encoders.speechflow import CONDITIONS

    sums = dict.fromkeys((*CONDITIONS, *REFERENCES), 0.0)
    frames_total, audio_seconds, net_seconds = 0, 0.0, 0.0
    if paths:  # warm-up (loads the speaker encoder's weights): not timed
        warm, warm_sr = audio.read(paths[0], sample_rate=16000)
        pkg.condition_vector(warm[: 16000 // 2] * 0.5, warm_sr)
    for path in paths:
        began = time.perf_counter()
        signal, sr = audio.read(path, sample_rate=16000)
        frames = pkg.frames(signal, sr)
        cond = pkg.condition_vector(signal, sr)
        x = torch.from_numpy(frames[None])
        lengths = torch.tensor([len(frames)])
        c = None if cond is None else torch.from_numpy(np.asarray(cond, np.float32)[None])
        front = time.perf_counter() - began
        for condition in CONDITIONS:
            began = time.perf_counter()
            out = pkg.net.decompose(x, lengths, c, condition)
            spent = time.perf_counter() - began
            if condition == "REC":
                net_seconds += spent
                audio_seconds += front + spent
            sums[condition] += float(((out[0].numpy() - frames[:, : out.shape[-1]]) ** 2).sum())
        for name, error in reference_errors(frames[:, :-1]).items():
            sums[name] += error
        frames_total += len(frames) * (frames.shape[1] - 1)
    return {
        "utterances": len(paths),
        "mse": {k: v / max(frames_total, 1) for k, v in sums.items()},
        "utt_per_s_audio": len(paths) / max(audio_seconds, 1e-9),
        "utt_per_s_net": len(paths) / max(net_seconds, 1e-9),
    }


def main() -> None:
    args = _parser().parse_args()
    import torch

    torch.set_num_threads(1)
    if args.snapshot is not None:
        print(snapshot(args.config, args.run, args.snapshot))
        return
    from serkit.encoders.package import load_encoder
    from serkit.encoders.speechflow import CONDITIONS

    pkg = load_encoder(args.package or args.run)
    history = pkg.meta["history"]
    figures: dict[str, Any] = {
        "package": str(pkg.folder),
        "key": pkg.key(),
        "params": pkg.params,
        "epochs": len(history),
        "snapshot_epoch": pkg.meta["extra"].get("snapshot_epoch"),
        "train_loss_first": history[0]["loss"] if history else None,
        "train_loss_last": history[-1]["loss"] if history else None,
        "pretrain_seconds": round(sum(float(h.get("seconds", 0.0)) for h in history), 1),
        "training_rows": len(pkg.ids),
        "training_speakers": len(pkg.speakers),
        "sets": {},
    }
    for name, paths in _rows(
        args.manifests, args.heldout, args.ravdess, args.max_rows, args.seed
    ).items():
        figures["sets"][name] = evaluate(pkg, paths)
    columns = (*CONDITIONS, *REFERENCES)
    header = ["held-out set", "utterances", *columns, "utt/s (audio)", "utt/s (net)"]
    rows = [
        [
            name,
            r["utterances"],
            *[f"{r['mse'][c]:.4f}" for c in columns],
            f"{r['utt_per_s_audio']:.1f}",
            f"{r['utt_per_s_net']:.1f}",
        ]
        for name, r in figures["sets"].items()
    ]
    text = (
        f"SpeechFlow package {pkg.folder} ({figures['epochs']} epochs, "
        f"{figures['pretrain_seconds'] / 60:.1f} min of training on {figures['training_rows']} "
        f"rows / {figures['training_speakers']} speakers; training loss "
        f"{figures['train_loss_first']:.4f} -> {figures['train_loss_last']:.4f})\n\n"
        "Held-out reconstruction MSE (80-mel in [0, 1]) per condition, and of the model-free "
        "references MEAN and MEAN+LEVEL:\n\n"
        + md_table(header, rows)
        + "\n"
    )
    print(text)
    write_table(args.out, text, figures)


if __name__ == "__main__":
    main()
