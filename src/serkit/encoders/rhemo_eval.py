"""Evaluation of an RH-emo net (:mod:`serkit.encoders.rhemo`) on given manifest rows.

:func:`evaluate_heads`: the held-out reconstruction BCE (from front-end frames), the emotion
head's accuracy and UAR (on the rows whose label the head knows), and the valence / arousal /
dominance heads' accuracies against the binary targets of :mod:`serkit.corpora.vad_targets`
with the majority baseline of each. Decisions are per utterance: the heads' logits averaged
over the utterance's 4-s windows (as the quaternion nets pool their window scores).

:func:`collapse_stats`: whether the encoder's latent depends on its input at all (the
collapse of the seed's linear max-scaling, see :mod:`serkit.encoders.rhemo`): the zero
fraction after every encoder ReLU, the share of latent entries that vary across the windows,
and a spread ratio ``sum_d var_d(z) / mean_n ||z_n||^2`` (0 when every window gives the same
latent, 1 when the latents have zero mean).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn


def _outputs(net: Any, windows: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    z = net.encode_map(windows)
    return z, {k: v.mean(0) for k, v in net.head_logits(z).items()}


def evaluate_heads(
    net: Any,
    classes: Sequence[str],
    rows: pd.DataFrame,
    *,
    frames: Sequence[np.ndarray] | None = None,
    maps: Sequence[np.ndarray] | None = None,
) -> dict[str, Any]:
    """Heads (and reconstruction) of ``net`` on ``rows``, one decision per utterance.

    Args:
        net: an RH-emo net (``pkg.net`` of an encoder package; put in eval mode here).
        classes: the emotion head's classes (``pkg.classes``), in logit order.
        rows: manifest rows (``corpus``, ``emotion``, optional V/A/D ratings), aligned with
            ``frames`` / ``maps``.
        frames: per row the front-end frames ``(frames, input_dim)`` (``pkg.normalise``d);
            gives the reconstruction BCE too.
        maps: per row the ``map`` layer ``(windows, 4 * T' * F')`` (cached ``encoder``
            features); heads only. Exactly one of ``frames`` / ``maps``.

    Returns:
        ``rows``, ``recon_bce`` (mean over utterances of the window BCE against the clipped
        scaled input; ``None`` from ``maps``), ``emotion_acc``, ``emotion_uar``,
        ``emotion_rows`` (rows whose label is in ``classes``; ``None`` figures when none), and
        per dimension ``<dim>_acc``, ``<dim>_majority``, ``<dim>_rows`` (rows with a target).

    Raises:
        ValueError: not exactly one of ``frames`` / ``maps``, or its length differs from rows.
    """
    from serkit.corpora import vad_targets
    from serkit.metrics import uar

    given = frames if maps is None else maps
    if (frames is None) == (maps is None) or len(given) != len(rows):
        raise ValueError(
            "evaluate_heads: pass exactly one of frames= or maps=, one entry per row of rows; "
            f"found frames={frames is not None}, maps={maps is not None}, {len(rows)} rows"
        )
    net.eval()
    shape = tuple(net.latent_shape)
    logits: dict[str, list[np.ndarray]] = {"emotion": [], **{d: [] for d in vad_targets.DIMENSIONS}}
    bces: list[float] = []
    with torch.no_grad():
        for item in given:
            x = torch.from_numpy(np.asarray(item, np.float32))
            if frames is not None:
                win = net.prepare_windows(x)
                z, heads = _outputs(net, win)
                recon = net.decode_map(z)
                bces.append(float(nn.functional.binary_cross_entropy(recon, win.clamp(0, 1))))
            else:
                heads = {k: v.mean(0) for k, v in net.head_logits(x.reshape(-1, *shape)).items()}
            for key, value in heads.items():
                logits[key].append(value.numpy())
    out: dict[str, Any] = {"rows": len(rows), "recon_bce": float(np.mean(bces)) if bces else None}
    classes = [str(c) for c in classes]
    truth = rows["emotion"].astype(str).to_numpy()
    known = np.isin(truth, classes)
    out["emotion_rows"] = int(known.sum())
    out["emotion_acc"] = out["emotion_uar"] = None
    if known.any() and len(rows):
        pred = np.asarray(classes)[np.stack(logits["emotion"]).argmax(1)]
        out["emotion_acc"] = float(np.mean(pred[known] == truth[known]))
        out["emotion_uar"] = uar(truth[known], pred[known], classes)
    targets = vad_targets.binary_targets(rows).to_numpy()
    for j, dim in enumerate(vad_targets.DIMENSIONS):
        t = targets[:, j]
        ok = ~np.isnan(t)
        out[f"{dim}_rows"] = int(ok.sum())
        out[f"{dim}_acc"] = out[f"{dim}_majority"] = None
        if ok.any():
            p = (np.asarray(logits[dim]) > 0).astype(float)
            out[f"{dim}_acc"] = float(np.mean(p[ok] == t[ok]))
            out[f"{dim}_majority"] = float(max(t[ok].mean(), 1 - t[ok].mean()))
    return out


def collapse_stats(net: Any, windows: torch.Tensor, tol: float = 1e-3) -> dict[str, Any]:
    """How much the eval-mode latent of ``net`` depends on its input.

    Args:
        net: an RH-emo net (put in eval mode here).
        windows: scaled windows ``(n, 1, T, F)`` (``net.prepare_windows``), n >= 2, from
            different utterances.
        tol: an entry "varies" when its std across windows exceeds ``tol`` x the latent RMS.

    Returns:
        ``relu_zero_fraction`` (one per encoder ReLU, in order), ``latent_varying`` (share of
        latent entries that vary across windows), ``latent_spread`` (see the module).
    """
    net.eval()
    zeros: list[float] = []
    h = windows
    with torch.no_grad():
        for module in net.encoder:
            h = module(h)
            if isinstance(module, nn.ReLU):
                zeros.append(float((h == 0).float().mean()))
        z = h.flatten(1).double()
    rms = float(z.pow(2).mean().sqrt())
    std = z.std(0, unbiased=False)
    msq = float(z.pow(2).sum(1).mean())
    return {
        "relu_zero_fraction": zeros,
        "latent_varying": float((std > tol * rms).double().mean()) if rms > 0 else 0.0,
        "latent_spread": float(std.pow(2).sum()) / msq if msq > 0 else 0.0,
    }
