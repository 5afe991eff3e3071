"""The representation seed's outputs on RAVDESS (issue 12): HDF5 store, latent plots, listening.

1. ``write_hdf5`` of RAVDESS speech (waveform at 16 kHz + the seed's "transform" 80-mel log-mel),
   its time and size, and ``read_hdf5`` time;
2. ``latent_plots`` (UMAP + t-SNE, 4 colourings each) of the 1440 utterances' mean log-mel
   frames (80-d), and of twice as many rows;
3. the inversion alone: the front end on the Griffin-Lim rendering of each file's own features
   against those features (mean |difference| in dB over the louder half of the cells), for the
   seed transform and serkit's default log-mel, and Griffin-Lim's real-time factor;
4. with ``--encoder NAME=PATH`` (repeatable): each encoder's reconstruction error (dB) on the
   same files, beside the corpus-mean-frame baseline (every frame replaced by the package's
   normalisation mean), and how far one latent dimension moves the output (dB, -2 to +2).

    nice -n 10 python benchmarks/representation_outputs.py --work /tmp/enc-out/bench \
        --encoder vae=runs/vae --encoder conv-ae=runs/conv_ae --out representation_outputs.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from _report import add_out_option, md_table, write_table

MANIFEST = Path("/tmp/serkit_baselines/manifests/ravdess.parquet")
DB_PER_LN = 20.0 / np.log(10.0)  # ln of a magnitude -> dB


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=MANIFEST, help="RAVDESS manifest.")
    parser.add_argument("--work", type=Path, default=Path("/tmp/representation_outputs"))
    parser.add_argument("--files", type=int, default=20, help="Files for steps 3 and 4.")
    parser.add_argument("--encoder", action="append", default=[], help="NAME=PATH (repeatable).")
    add_out_option(parser, "representation_outputs.md")
    return parser


def _seed_frontend():
    from serkit.encoders._frontends import TRANSFORM_LOGMEL
    from serkit.features import get_extractor
    from serkit.features.frontend import Frontend

    return Frontend(get_extractor("logmel", **TRANSFORM_LOGMEL))


def hdf5_figures(df, work: Path) -> tuple[dict, object]:
    from serkit.encoders.hdf5 import read_hdf5, write_hdf5

    out = work / "ravdess.h5"
    started = time.perf_counter()
    summary = write_hdf5(df, out, features=_seed_frontend(), channel="speech")
    written = time.perf_counter() - started
    started = time.perf_counter()
    data = read_hdf5(out)
    read = time.perf_counter() - started
    return {
        "rows": summary.written,
        "write_s": written,
        "read_s": read,
        "mb": out.stat().st_size / 2**20,
    }, data


def plot_figures(data, work: Path) -> dict:
    import pandas as pd

    from serkit.encoders.plots import latent_plots

    X = np.stack([f.mean(axis=0) for f in data.features])
    started = time.perf_counter()
    latent_plots(X, data.table, work / "plots")
    once = time.perf_counter() - started
    rng = np.random.default_rng(0)
    X2 = np.concatenate([X, X + rng.normal(0, 0.1, X.shape)])
    meta2 = pd.concat([data.table, data.table], ignore_index=True)
    started = time.perf_counter()
    latent_plots(X2, meta2, work / "plots_x2")
    return {"rows": len(X), "dim": X.shape[1], "s": once, "s_x2": time.perf_counter() - started}


def inversion_figures(paths, frontend) -> dict:
    from serkit import audio
    from serkit.encoders.listen import features_to_audio

    errors, seconds, audio_s = [], 0.0, 0.0
    to_db = DB_PER_LN if frontend.extractor.config.log == "ln" else 1.0
    for path in paths:
        signal, sr = audio.read(path, sample_rate=frontend.sample_rate)
        features = frontend.compute(signal, sr)
        started = time.perf_counter()
        wave = features_to_audio(features, frontend, n_iter=64)
        seconds += time.perf_counter() - started
        audio_s += len(signal) / sr
        again = frontend.compute(wave, sr)
        n = min(len(again), len(features))
        loud = features[:n] > np.median(features)
        errors.append(float(np.mean(np.abs(again[:n] - features[:n])[loud])) * to_db)
    return {"db": float(np.mean(errors)), "rtf": seconds / audio_s}


def encoder_figures(paths, folder: str) -> dict:
    from serkit import audio
    from serkit.encoders import listen as L
    from serkit.encoders.package import load_encoder

    package = load_encoder(folder)
    log = package.frontend.extractor.config.log
    to_db = DB_PER_LN if log == "ln" else 1.0
    recon, base, move = [], [], []
    for path in paths:
        signal, sr = audio.read(path, sample_rate=package.frontend.sample_rate)
        features, rebuilt = L.reconstruct(package, signal, sr)
        recon.append(np.mean(np.abs(rebuilt - features)))
        mean = package.mean if package.mean is not None else features.mean(axis=0)
        base.append(np.mean(np.abs(features - mean)))
        low, high = L.traverse(package, signal, sr, dim=0, steps=2, span=2.0)
        move.append(np.mean(np.abs(high[1] - low[1])))
    return {
        "family": package.family,
        "recon_db": float(np.mean(recon)) * to_db,
        "mean_frame_db": float(np.mean(base)) * to_db,
        "dim0_move_db": float(np.mean(move)) * to_db,
    }


def main() -> None:
    from serkit import manifest as mf
    from serkit.features import get_extractor
    from serkit.features.frontend import Frontend

    args = _parser().parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    df = mf.read(args.manifest)
    figures: dict = {}
    figures["hdf5"], data = hdf5_figures(df, args.work)
    figures["plots"] = plot_figures(data, args.work)
    speech = df[df["mode"] == "speech"]
    paths = mf.audio_paths(speech)[:: max(1, len(speech) // args.files)][: args.files]
    figures["inversion"] = {
        "seed transform (80 mels, ln magnitude, 1024/256)": inversion_figures(
            paths, _seed_frontend()
        ),
        "serkit logmel default (64 mels, dB power, 512/160)": inversion_figures(
            paths, Frontend(get_extractor("logmel"))
        ),
    }
    figures["encoders"] = {}
    for spec in args.encoder:
        name, _, folder = spec.partition("=")
        figures["encoders"][name] = encoder_figures(paths, folder)

    h, p = figures["hdf5"], figures["plots"]
    text = md_table(
        ["step", "figure"],
        [
            [f"write_hdf5, {h['rows']} files (wav 16 kHz + 80-mel)", f"{h['write_s']:.1f} s, "
             f"{h['mb']:.0f} MB"],
            ["read_hdf5 (all arrays)", f"{h['read_s']:.1f} s"],
            [f"latent_plots {p['rows']} x {p['dim']} (UMAP + t-SNE, 8 PNG)", f"{p['s']:.1f} s"],
            [f"latent_plots {2 * p['rows']} x {p['dim']}", f"{p['s_x2']:.1f} s"],
        ],
    )
    text += "\n" + md_table(
        ["front end", "Griffin-Lim round trip, mean abs dB (louder half)", "RTF (64 iter.)"],
        [[k, f"{v['db']:.2f}", f"{v['rtf']:.3f}"] for k, v in figures["inversion"].items()],
    )
    if figures["encoders"]:
        text += "\n" + md_table(
            ["encoder", "reconstruction error dB", "corpus-mean-frame baseline dB",
             "latent dim 0, -2 -> +2: output moves dB"],
            [[k, f"{v['recon_db']:.2f}", f"{v['mean_frame_db']:.2f}", f"{v['dim0_move_db']:.2f}"]
             for k, v in figures["encoders"].items()],
        )
    print(text)
    write_table(args.out, text, figures)


if __name__ == "__main__":
    main()
