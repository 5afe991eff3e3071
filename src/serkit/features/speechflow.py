"""SpeechFlow decomposition as features: the ``speechflow`` extractor (seed 000, section 0.1).

``get_extractor("speechflow", encoder=PATH, condition="NR")`` re-synthesises every utterance's
SpeechFlow mel with the components of ``condition`` removed (the encoder inputs zeroed, see
:func:`serkit.encoders.speechflow.removed_inputs`), so the decomposed mels are cached in the
feature store like any feature and any frame-level model (the 3-D ACRNN) trains on them.

* ``encoder``: a ``speechflow`` encoder package (``serkit pretrain``: the package folder or the
  run folder ``runs/<name>/``); ``fold``: one package of a per-fold pretrain run.
* ``condition``: one of the family's conditions (REC, NR, NF, NC, NU, NRF, NRC, NFC, NRFC), or
  ``RAW``: the package's own input mel, not passed through the net (the undecomposed
  reference; REC, the plain reconstruction, is the fair one, because re-synthesis itself
  changes the mel).
* ``deltas``: 0 (static mel, ``(frames, 80)``), 1 or 2 (static, delta and delta-delta stacked
  channel-major, ``(frames, 240)`` for 2: what the ACRNN takes, which computes no deltas
  itself); ``delta_width`` = regression N (2, as python_speech_features in the fork).
* ``swap`` / ``swap_with``: feed the named component(s) (``rhythm``, ``pitch``, ``content``,
  ``timbre``; several joined with ``+``) from the utterance in the audio file ``swap_with``
  instead of the utterance's own (SpeechSplit's conversion, e.g. every utterance with one
  reference speaker's timbre). ``swap_key`` (the file's SHA-256, filled in) keys the store, so
  another file at that path gives new features.
* ``package_key``: the package's content key, filled in and checked as by the ``encoder``
  extractor (a retrained package gets new store folders, never stale features).

The mel comes back in the units of the package's front end (input normalisation undone), the
first ``frames`` frames valid: ``(frames, n_mels * (1 + deltas))``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from serkit.errors import ConfigError
from serkit.features.base import Extractor, ExtractorConfig, register_extractor

#: the undecomposed reference: the package's input mel itself
RAW = "RAW"
COMPONENTS = ("rhythm", "pitch", "content", "timbre")
FAMILY = "speechflow"
#: the swap file's signal per (path, content key, rate), read once per process
_SWAP_AUDIO: dict[tuple[str, str, int], tuple[np.ndarray, int]] = {}


def family_conditions() -> tuple[str, ...]:
    """The SpeechFlow family's removal conditions (``REC`` first).

    Raises:
        ConfigError: the ``speechflow`` encoder family is not installed.
    """
    try:
        from serkit.encoders import speechflow
    except ModuleNotFoundError as exc:
        raise ConfigError(
            "the speechflow encoder family (serkit.encoders.speechflow) is not available, so "
            f"there are no decomposition conditions ({exc})"
        ) from None
    found = getattr(speechflow, "CONDITIONS", None)
    if found is None:
        cls = next((v for v in vars(speechflow).values() if hasattr(v, "CONDITIONS")), None)
        found = getattr(cls, "CONDITIONS", ())
    return tuple(str(c) for c in found)


def check_condition(condition: str) -> str:
    """``condition`` if it is ``RAW`` or one of :func:`family_conditions`.

    Raises:
        ConfigError: naming the condition and the known ones.
    """
    known = (*family_conditions(), RAW)
    if condition not in known:
        raise ConfigError(
            f"speechflow: unknown condition {condition!r}; expected one of {', '.join(known)} "
            "(seed_methods section 0.1: N = no, R rhythm, F pitch, C content, U timbre)"
        )
    return condition


def parse_swap(swap: str) -> tuple[str, ...]:
    """``"rhythm+timbre"`` -> ``("rhythm", "timbre")`` (``""``: none).

    Raises:
        ConfigError: an unknown component.
    """
    parts = tuple(p.strip() for p in str(swap).split("+") if p.strip())
    bad = [p for p in parts if p not in COMPONENTS]
    if bad:
        raise ConfigError(
            f"speechflow: swap names unknown component(s) {bad}; expected some of "
            f"{', '.join(COMPONENTS)} joined with '+'"
        )
    return parts


def check_family(pkg: Any, path: str) -> None:
    """Refuse a package that is not a SpeechFlow decomposer (names it and its family)."""
    if pkg.family != FAMILY or not hasattr(pkg.net, "decompose"):
        raise ConfigError(
            f"{path}: the encoder package there is of family {pkg.family!r}, not {FAMILY!r}; "
            "the speechflow extractor decomposes speech with a SpeechFlow package (serkit "
            "pretrain with encoder.name: speechflow); use the `encoder` extractor for other "
            "families"
        )


def decompose_signal(
    pkg: Any,
    signal: np.ndarray,
    sample_rate: int,
    condition: str = "REC",
    swap: dict[str, tuple[np.ndarray, int]] | None = None,
) -> np.ndarray:
    """One utterance's decomposed mel, in the package's front-end units.

    Args:
        pkg: a loaded ``speechflow`` package (:func:`serkit.encoders.package.load_encoder`).
        signal: ``(samples,)`` at ``sample_rate``.
        sample_rate: its rate.
        condition: a family condition, or :data:`RAW` (the input mel, no net).
        swap: ``{component: (other_signal, its_rate)}`` fed from another utterance.

    Returns:
        ``(frames, n_mels)`` float32.
    """
    import torch

    features = np.asarray(pkg.frontend.compute(signal, sample_rate), dtype=np.float32)
    if condition == RAW:
        return np.ascontiguousarray(features[:, : mel_bins(pkg)])

    def inputs(sig: np.ndarray, rate: int) -> tuple[Any, Any, Any]:
        frames = pkg.normalise(pkg.frontend.compute(sig, rate))
        cond = pkg.condition_vector(sig, rate)
        x = torch.from_numpy(np.asarray(frames, np.float32)[None])
        c = None if cond is None else torch.from_numpy(np.asarray(cond, np.float32)[None])
        return x, torch.tensor([x.shape[1]], dtype=torch.int64), c

    x, lengths, cond = inputs(signal, sample_rate)
    other = {name: inputs(sig, rate) for name, (sig, rate) in (swap or {}).items()}
    with torch.no_grad():
        out = pkg.net.decompose(x, lengths, cond=cond, condition=condition, swap=other or None)
    mel = out[0, : int(lengths[0])].detach().cpu().numpy().astype(np.float32)
    return denormalise_mel(pkg, mel)


def mel_bins(pkg: Any) -> int:
    """Mel bands of the package's front end (its first columns; the rest is F0)."""
    return int(getattr(pkg.net, "mels", 0) or getattr(pkg.frontend.extractor.config, "n_mels", 80))


def denormalise_mel(pkg: Any, mel: np.ndarray) -> np.ndarray:
    """Net-output mel ``(frames, n_mels)`` -> front-end units (the package's input
    normalisation of the mel columns undone)."""
    if pkg.mean is None:
        return np.ascontiguousarray(mel, dtype=np.float32)
    n = mel.shape[1]
    return (mel * pkg.std[:n] + pkg.mean[:n]).astype(np.float32)


def _file_key(path: str) -> str:
    from serkit.models.package import file_sha256

    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(
            f"speechflow: swap_with {path!r} is not an audio file (the utterance whose swapped "
            "component(s) every row gets)"
        )
    return file_sha256(file)[:16]


@dataclasses.dataclass(frozen=True)
class SpeechFlowConfig(ExtractorConfig):
    """Config of ``"speechflow"`` (see the module docstring for each field)."""

    encoder: str = ""
    fold: str = ""
    condition: str = "REC"
    deltas: int = 0
    delta_width: int = 2
    swap: str = ""
    swap_with: str = ""
    swap_key: str = ""
    package_key: str = ""

    def __post_init__(self) -> None:
        if self.deltas not in (0, 1, 2):
            raise ConfigError(f"speechflow: deltas {self.deltas}; expected 0, 1 or 2")
        if self.delta_width < 1:
            raise ConfigError(f"speechflow: delta_width {self.delta_width}; expected >= 1")
        if bool(parse_swap(self.swap)) != bool(self.swap_with):
            raise ConfigError(
                "speechflow: swap (the component(s), e.g. timbre) and swap_with (the audio "
                f"file they come from) go together; found swap={self.swap!r}, "
                f"swap_with={self.swap_with!r}"
            )


@register_extractor
class SpeechFlowFeatures(Extractor):
    """The SpeechFlow mel of each utterance with components removed: ``(frames, n_mels *
    channels)``."""

    name = "speechflow"
    level = "frame"
    Config = SpeechFlowConfig

    def __init__(self, config: SpeechFlowConfig | None = None, **params: Any) -> None:
        from serkit.features.encoder import pinned_key

        if config is None:
            path, fold = str(params.get("encoder") or ""), str(params.get("fold") or "")
            if not path:
                raise ConfigError(
                    "the 'speechflow' extractor needs encoder: a speechflow encoder package "
                    "folder or a `serkit pretrain` run folder (runs/<name>/)"
                )
            pkg = self._load(path, fold)
            params.setdefault("sample_rate", pkg.frontend.sample_rate)
            params["package_key"] = pinned_key(path, fold, params.get("package_key") or "")
            if params.get("swap_with") and not params.get("swap_key"):
                params["swap_key"] = _file_key(str(params["swap_with"]))
        super().__init__(config, **params)
        check_condition(self.config.condition)
        self._load(self.config.encoder, self.config.fold)

    @staticmethod
    def _load(path: str, fold: str) -> Any:
        from serkit.encoders.package import encoder_folders
        from serkit.features.encoder import cached_package

        folders = encoder_folders(Path(path).expanduser())
        if not fold and "" not in folders:
            raise ConfigError(
                f"{path} holds one encoder per fold ({', '.join(folders)}); the speechflow "
                "extractor decomposes with one package: set fold=NAME"
            )
        pkg = cached_package(path, fold)
        check_family(pkg, path)
        return pkg

    @property
    def package(self) -> Any:
        """The :class:`~serkit.encoders.package.EncoderPackage` this extractor uses."""
        from serkit.features.encoder import cached_package

        return cached_package(self.config.encoder, self.config.fold)

    @property
    def channels(self) -> int:
        return 1 + int(self.config.deltas)

    def with_condition(self, condition: str) -> SpeechFlowFeatures:
        """The same extractor with another condition (what ``serkit explain`` applies)."""
        return SpeechFlowFeatures(dataclasses.replace(self.config, condition=condition))

    def _swap(self) -> dict[str, tuple[np.ndarray, int]] | None:
        parts = parse_swap(self.config.swap)
        if not parts:
            return None
        key = (self.config.swap_with, self.config.swap_key, self.sample_rate)
        if key not in _SWAP_AUDIO:
            from serkit import audio

            path = Path(self.config.swap_with).expanduser()
            _SWAP_AUDIO[key] = audio.read(path, sample_rate=self.sample_rate)
        signal, rate = _SWAP_AUDIO[key]
        return {name: (signal, rate) for name in parts}

    @classmethod
    def example_params(cls, workdir: Path) -> dict[str, Any]:
        """A tiny untrained ``speechflow`` package under ``workdir`` (tests)."""
        from serkit.encoders import list_encoders

        if FAMILY not in list_encoders():
            return {}
        return {"encoder": str(tiny_package(Path(workdir) / "tiny-speechflow"))}

    def compute(self, signal: np.ndarray) -> np.ndarray:
        from serkit.features.spectral import with_deltas

        c = self.config
        mel = decompose_signal(self.package, signal, self.sample_rate, c.condition, self._swap())
        return with_deltas(mel, c.deltas, c.delta_width)

    def feature_names(self) -> list[str]:
        bins = mel_bins(self.package)
        prefixes = ["", "d_", "dd_"][: self.channels]
        return [f"{p}mel{i}" for p in prefixes for i in range(bins)]


def tiny_package(folder: Path, *, speakers: tuple[str, ...] = ("x/s",)) -> Path:
    """An untrained ``speechflow`` package of the family's ``test_params()`` (tests, demos)."""
    from serkit.encoders.package import META

    if (folder / META).is_file():
        return folder
    import torch

    from serkit.encoders import get_encoder_class
    from serkit.encoders.package import save_encoder
    from serkit.features.frontend import Frontend

    family = get_encoder_class(FAMILY)
    frontend = Frontend.from_config(family.default_frontend)
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    voice = 0.3 * np.sin(2 * np.pi * 150 * t) + rng.normal(0, 0.01, t.size)
    dim = int(frontend.compute(voice.astype(np.float32), 16000).shape[1])
    cond_dim, condition = 0, None
    if "speaker" in tuple(getattr(family, "conditions", ())):
        from serkit.encoders.package import SPEAKER_FRONTEND
        from serkit.features import extractor_from_dict

        speaker = extractor_from_dict(SPEAKER_FRONTEND)
        cond_dim = int(speaker(voice.astype(np.float32), 16000).shape[0])
        condition = "speaker"
    torch.manual_seed(0)
    net = family(dim, cond_dim=cond_dim, **family.test_params())
    save_encoder(
        net,
        folder,
        frontend=frontend,
        input_dim=dim,
        ids=[f"{s}/1" for s in speakers],
        speakers=list(speakers),
        condition=condition,
        cond_dim=cond_dim,
    )
    return folder
