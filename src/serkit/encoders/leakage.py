"""Leakage certification of experiments whose features come from an encoder package.

The protocol certificate (:func:`serkit.protocols.certify`) proves that no speaker is on both
sides of a fold; an ``encoder`` feature (or ``speechflow``: decomposed mels, whose package is its
``encoder`` parameter) adds a second way in: the rows the encoder was trained on.
:func:`certify_encoder` compares the package's training speakers (recorded in ``encoder.json``)
with every fold's test speakers:

* an encoder trained **with labels** that shares a speaker with a test fold is refused with a
  :class:`~serkit.errors.ConfigError` naming the speakers and the fix, unless the config sets
  ``allow_speaker_dependent: true``, in which case the run is labelled speaker-dependent;
* an encoder trained **without labels** on audio of test speakers is allowed and labelled
  transductive (it heard the test speakers, never their labels);
* otherwise the encoder is certified speaker-disjoint from every test fold.

For a per-fold pretrain run (``encoder/<fold>/``), :func:`assign_packages` gives each
experiment fold the package whose training speakers are disjoint from that fold's test
speakers (the one of the same name first), and the certificate records that assignment.
The result is an :class:`EncoderCertificate`: the protocol certificate plus ``encoder`` facts,
whose :meth:`~EncoderCertificate.statement` (the run report's protocol paragraph) says which of
the three cases holds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from serkit.errors import ConfigError
from serkit.protocols import Certificate

INDEPENDENT = "speaker-disjoint"
TRANSDUCTIVE = "transductive"
DEPENDENT = "speaker-dependent"
#: extractors whose features come from an encoder package -> the parameter naming its path
ENCODER_EXTRACTORS = {"encoder": "path", "speechflow": "encoder"}


@dataclass
class EncoderCertificate(Certificate):
    """A protocol certificate plus what the encoder behind the features saw.

    Attributes:
        encoder: ``{"path", "family", "uses_labels", "status", "shared", "assignment"}``:
            ``status`` is ``speaker-disjoint``, ``transductive`` or ``speaker-dependent``;
            ``shared`` maps a fold to the test speakers its encoder trained on; ``assignment``
            maps a fold to the per-fold package it uses (``""``: the single package).
    """

    encoder: dict[str, Any] = field(default_factory=dict)

    @property
    def transductive(self) -> bool:
        return self.encoder.get("status") == TRANSDUCTIVE

    def encoder_statement(self) -> str:
        """One sentence on the encoder's training speakers against the test folds."""
        e = self.encoder
        how = "with labels" if e["uses_labels"] else "without labels"
        which = (
            f"one encoder per fold ({len(set(e['assignment'].values()))} packages)"
            if any(e["assignment"].values())
            else "one encoder"
        )
        shared = sorted({s for speakers in e["shared"].values() for s in speakers})
        if e["status"] == INDEPENDENT:
            return (
                f"Encoder {e['family']!r} ({which}, trained {how}) verified to share no "
                "speaker with the test rows of any fold."
            )
        names = ", ".join(shared[:6]) + (", ..." if len(shared) > 6 else "")
        folds = len(e["shared"])
        if e["status"] == TRANSDUCTIVE:
            return (
                f"TRANSDUCTIVE encoder: {e['family']!r} ({which}) was trained without labels "
                f"on audio of {len(shared)} test speaker(s) ({names}) in {folds} fold(s); it "
                "never saw their labels."
            )
        return (
            f"SPEAKER-DEPENDENT encoder: {e['family']!r} ({which}) was trained with labels on "
            f"{len(shared)} test speaker(s) ({names}) in {folds} fold(s) "
            "(allow_speaker_dependent: true)."
        )

    def statement(self) -> str:
        return f"{super().statement()} {self.encoder_statement()}"

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["encoder"] = {
            **self.encoder,
            "shared": {k: sorted(v) for k, v in self.encoder["shared"].items()},
        }
        out["transductive"] = self.transductive
        if self.encoder.get("status") == DEPENDENT:
            out["speaker_independent"] = False
        return out


def encoder_path(cfg: dict[str, Any]) -> tuple[str, str] | None:
    """``(path, fold)`` of the encoder package behind a config's features, or ``None``."""
    features = cfg.get("features") or {}
    param = ENCODER_EXTRACTORS.get(str(features.get("name")))
    if param is None:
        return None
    params = features.get("params") or {}
    return str(params.get(param) or ""), str(params.get("fold") or "")


def model_encoder_path(cfg: dict[str, Any]) -> tuple[str, str] | None:
    """``(path, "")`` of an encoder package the model runs itself (``rhemo-cnn``'s
    ``encoder`` parameter) or starts from (``net_params.pretrained_path`` naming a package
    folder, e.g. a ``cola-alexnet`` run; a weights file records no speakers), or ``None``."""
    from serkit.experiment.config import pretrained_path

    path = ((cfg.get("model") or {}).get("params") or {}).get("encoder")
    if not path:
        pretrained = pretrained_path(cfg)
        path = pretrained if pretrained and os.path.isdir(pretrained) else None
    return (str(path), "") if path else None


def _speakers(df: pd.DataFrame, idx: Any) -> set[str]:
    return set(df["speaker"].astype(str).iloc[idx])


def assign_packages(
    packages: dict[str, dict[str, Any]], df: pd.DataFrame, folds: list[Any]
) -> dict[str, str]:
    """Per experiment fold, the package to use: ``{fold name: package fold}``.

    Args:
        packages: ``{package fold: encoder.json}`` (``{"": meta}`` for a single package).
        df: the experiment's rows (the folds index them).
        folds: the experiment's folds.

    Returns:
        With one package, every fold gets ``""``; with per-fold packages, each fold gets the
        package of the same name when its training speakers are disjoint from the fold's test
        speakers, else another disjoint one, else the one sharing the fewest test speakers.
    """
    if list(packages) == [""]:
        return {str(f.name): "" for f in folds}
    out = {}
    for fold in folds:
        test = _speakers(df, fold.test)
        overlap = {name: len(test & set(m["speakers"])) for name, m in packages.items()}
        same = str(fold.name)
        if overlap.get(same) == 0:
            out[same] = same
        else:
            out[same] = min(overlap, key=lambda name: (overlap[name], name))
    return out


def certify_encoder(
    cfg: dict[str, Any], df: pd.DataFrame, folds: list[Any], certificate: Certificate
) -> Certificate:
    """The protocol certificate, extended with the encoder's (unchanged without an encoder).

    Args:
        cfg: the resolved experiment config (``features``, ``allow_speaker_dependent``).
        df: the rows the folds index.
        folds: the certified folds.
        certificate: what :func:`serkit.protocols.certify` returned for them.

    Returns:
        An :class:`EncoderCertificate` when the features come from an encoder package.

    Raises:
        ConfigError: an encoder trained with labels shares speakers with a test fold and
            ``allow_speaker_dependent`` is false (names the speakers and what to do).
    """
    from serkit.encoders.package import encoder_folders, read_encoder_meta

    where = encoder_path(cfg) or model_encoder_path(cfg)
    if where is None:
        return certificate
    path, fold_param = where
    folders = encoder_folders(path)
    if fold_param:
        folders = {"": folders[fold_param]} if fold_param in folders else folders
    packages = {name: read_encoder_meta(folder) for name, folder in folders.items()}
    assignment = assign_packages(packages, df, folds)
    shared: dict[str, set[str]] = {}
    for fold in folds:
        meta = packages[assignment[str(fold.name)]]
        common = _speakers(df, fold.test) & set(meta["speakers"])
        if common:
            shared[str(fold.name)] = common
    first = next(iter(packages.values()))
    labelled = any(m["uses_labels"] for m in packages.values())
    if not shared:
        status = INDEPENDENT
    elif not labelled:
        status = TRANSDUCTIVE
    elif cfg.get("allow_speaker_dependent"):
        status = DEPENDENT
    else:
        fold, speakers = next(iter(shared.items()))
        names = ", ".join(sorted(speakers)[:8])
        raise ConfigError(
            f"features: the encoder at {path} ({first['family']!r}) was trained WITH labels on "
            f"test speaker(s) of {len(shared)} fold(s), e.g. fold {fold}: {names}; its features "
            "would carry those speakers' labels into the test. Pretrain it without them "
            "(data.exclude_speakers, or `folds:` with this experiment's protocol for one "
            "encoder per fold), or set allow_speaker_dependent: true to run it labelled "
            "speaker-dependent"
        )
    base = {f.name: getattr(certificate, f.name) for f in fields(Certificate)}
    return EncoderCertificate(
        **base,
        encoder={
            "path": str(path),
            "family": first["family"],
            "uses_labels": labelled,
            "status": status,
            "shared": shared,
            "assignment": assignment,
        },
    )
