"""Self-supervised speech representations (wav2vec 2.0, HuBERT, WavLM) from a LOCAL checkpoint.

Registered extractors:

* ``"ssl"`` (utterance): hidden states pooled over time, ``(hidden,)`` for ``pooling="mean"``
  or ``(2 * hidden,)`` for ``"mean+std"`` (times the number of layers for
  ``layer_reduce="concat"``).
* ``"ssl-frames"`` (frame): hidden states ``(frames, hidden)`` at the model's frame rate (20 ms
  for the standard convolutional front end).

``model_path`` is a folder written by ``save_pretrained`` (``config.json`` + weights, optionally a
``preprocessor_config.json``); it is loaded with ``transformers.AutoModel`` and
``local_files_only=True``, so nothing is ever downloaded (no SSL weights ship with any pip
package: bring your own checkpoint). Models are cached per process and path.

Layers: ``hidden_states[0]`` is the output of the feature projection (before the transformer),
``hidden_states[i]`` the output of transformer layer ``i``; ``layer`` is an index (negative counts
from the end, default -1 = last), ``"all"``, or a list of indices, and several layers are
averaged (``layer_reduce="mean"``) or concatenated (``"concat"``). Long audio is processed in
chunks of at most ``max_chunk_s`` seconds (a last piece shorter than 1 s joins the previous chunk)
and the frames are concatenated. ``normalize_waveform`` (zero mean, unit variance per utterance)
defaults to the checkpoint's feature-extractor setting (``do_normalize``), or True without one.
Signals shorter than the convolutional receptive field are zero-padded to it.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import numpy as np

from serkit.errors import ConfigError
from serkit.features.base import Extractor, ExtractorConfig, register_extractor

LAYER_REDUCE = ("mean", "concat")
POOLINGS = ("mean", "mean+std")
_CACHE: dict[str, tuple[Any, bool | None, int | None]] = {}
_LOCK = threading.Lock()


def load_ssl_model(model_path: str | Path) -> tuple[Any, bool | None, int | None]:
    """Load (once per process) a local transformers speech model.

    Returns:
        ``(model, do_normalize, sampling_rate)``; the last two come from the checkpoint's
        feature-extractor config (``None`` when it has none).

    Raises:
        ConfigError: the folder is missing or holds no ``config.json`` / weights.
    """
    if not str(model_path):
        raise ConfigError(
            "the SSL extractors need model_path: a local folder written by save_pretrained "
            "(config.json + weights) of a wav2vec2 / HuBERT / WavLM model; serkit never "
            "downloads checkpoints"
        )
    path = Path(model_path).expanduser().resolve()
    key = str(path)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        if not path.is_dir():
            raise ConfigError(
                f"{path}: SSL model folder not found; expected a local folder written by "
                "save_pretrained (config.json + model weights)"
            )
        if not (path / "config.json").is_file():
            raise ConfigError(
                f"{path}: no config.json; expected a transformers checkpoint folder written by "
                "save_pretrained (hub names are not accepted: serkit works offline)"
            )
        from transformers import AutoConfig, AutoModel

        try:
            config = AutoConfig.from_pretrained(path, local_files_only=True)
            model = AutoModel.from_pretrained(path, config=config, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot load the SSL model ({exc})") from exc
        model.eval()
        do_normalize, rate = _feature_extractor_settings(path)
        _CACHE[key] = (model, do_normalize, rate)
        return _CACHE[key]


def _feature_extractor_settings(path: Path) -> tuple[bool | None, int | None]:
    if not (path / "preprocessor_config.json").is_file():
        return None, None
    from transformers import AutoFeatureExtractor

    try:
        fe = AutoFeatureExtractor.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError):
        return None, None
    do_normalize = getattr(fe, "do_normalize", None)
    rate = getattr(fe, "sampling_rate", None)
    return (None if do_normalize is None else bool(do_normalize)), (
        None if rate is None else int(rate)
    )


def receptive_field(conv_kernel: tuple[int, ...], conv_stride: tuple[int, ...]) -> int:
    """Samples needed for one output frame of a stack of 1-D convolutions."""
    field = 1
    for kernel, stride in zip(reversed(conv_kernel), reversed(conv_stride), strict=True):
        field = (field - 1) * stride + kernel
    return field


def chunk_bounds(n_samples: int, chunk: int, min_last: int) -> list[tuple[int, int]]:
    """Split ``[0, n)`` into pieces of ``chunk`` samples; a last piece < ``min_last`` is merged."""
    if chunk <= 0 or n_samples <= chunk:
        return [(0, n_samples)]
    bounds = [(a, min(a + chunk, n_samples)) for a in range(0, n_samples, chunk)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < min_last:
        bounds[-2] = (bounds[-2][0], bounds[-1][1])
        bounds.pop()
    return bounds


def select_layers(n_states: int, layer: int | str | tuple[int, ...]) -> list[int]:
    """Indices into ``hidden_states`` (``n_states = layers + 1``) for a ``layer`` spec."""
    if isinstance(layer, str):
        if layer == "all":
            return list(range(n_states))
        if layer == "last":
            return [n_states - 1]
        raise ConfigError(f"layer must be an int, 'all', 'last' or a list of ints; found {layer!r}")
    layers = [layer] if isinstance(layer, int) else list(layer)
    out = []
    for index in layers:
        if not -n_states <= int(index) < n_states:
            raise ConfigError(
                f"layer {index} does not exist: the model has {n_states} hidden states "
                f"(0 = feature projection, {n_states - 1} = last transformer layer)"
            )
        out.append(int(index) % n_states)
    if not out:
        raise ConfigError("layer list is empty")
    return out


def ssl_hidden_states(
    signal: np.ndarray,
    model: Any,
    layers: list[int],
    *,
    layer_reduce: str = "mean",
    normalize: bool = True,
    chunk_samples: int = 0,
) -> np.ndarray:
    """Frame-level representation of one signal.

    Returns:
        ``(frames, hidden)`` (``(frames, hidden * len(layers))`` for ``"concat"``) float32.
    """
    import torch

    x = np.asarray(signal, dtype=np.float64)
    if normalize and x.size:
        x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    cfg = model.config
    field = receptive_field(tuple(cfg.conv_kernel), tuple(cfg.conv_stride))
    if x.size < field:
        x = np.pad(x, (0, field - x.size))
    outputs = []
    with torch.inference_mode():
        for start, end in chunk_bounds(x.size, chunk_samples, max(field, 16000)):
            piece = torch.from_numpy(x[start:end].astype(np.float32))[None, :]
            states = model(piece, output_hidden_states=True).hidden_states
            chosen = [states[i][0] for i in layers]
            if layer_reduce == "mean":
                frames = torch.stack(chosen).mean(dim=0)
            else:
                frames = torch.cat(chosen, dim=-1)
            outputs.append(frames.float().numpy())
    # NaN/inf hidden states are refused by the extractor contract, never turned into zeros
    return np.concatenate(outputs, axis=0).astype(np.float32)


def pool(frames: np.ndarray, pooling: str) -> np.ndarray:
    """``(frames, dim)`` -> ``(dim,)`` mean or ``(2 * dim,)`` [mean, std]."""
    if pooling == "mean":
        return frames.mean(axis=0)
    if pooling == "mean+std":
        return np.concatenate([frames.mean(axis=0), frames.std(axis=0)])
    raise ConfigError(f"pooling must be one of {POOLINGS}; found {pooling!r}")


@dataclasses.dataclass(frozen=True)
class SSLFramesConfig(ExtractorConfig):
    """Config of ``"ssl-frames"`` (see the module docstring for each field)."""

    model_path: str = ""
    layer: int | str | tuple[int, ...] = -1
    layer_reduce: str = "mean"
    normalize_waveform: bool | None = None
    max_chunk_s: float = 30.0

    def __post_init__(self) -> None:
        if self.layer_reduce not in LAYER_REDUCE:
            raise ConfigError(
                f"layer_reduce must be one of {LAYER_REDUCE}; found {self.layer_reduce!r}"
            )
        if isinstance(self.layer, str) and self.layer not in ("all", "last"):
            raise ConfigError(
                f"layer must be an int, 'all', 'last' or a list; found {self.layer!r}"
            )
        if self.max_chunk_s < 0:
            raise ConfigError(
                f"max_chunk_s must be >= 0 (0 = no chunking); found {self.max_chunk_s}"
            )


@dataclasses.dataclass(frozen=True)
class SSLConfig(SSLFramesConfig):
    """Config of ``"ssl"``: the frame config plus ``pooling`` (``"mean"`` or ``"mean+std"``)."""

    pooling: str = "mean"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pooling not in POOLINGS:
            raise ConfigError(
                f"pooling must be one of {POOLINGS} (use 'ssl-frames' for frame-level output); "
                f"found {self.pooling!r}"
            )


def tiny_checkpoint(folder: Path, arch: str = "wav2vec2") -> Path:
    """Save a tiny randomly initialised model (2 layers, hidden 32) to ``folder`` (tests/demos).

    Its features are meaningless; it exists so that the pipeline can run without a real
    checkpoint. ``arch`` is ``"wav2vec2"``, ``"hubert"`` or ``"wavlm"``.
    """
    import torch
    import transformers

    folder = Path(folder)
    if (folder / "config.json").is_file():
        return folder
    common = dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16, 16, 16),
        conv_kernel=(10, 8, 4),
        conv_stride=(5, 4, 2),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )
    builders = {
        "wav2vec2": (transformers.Wav2Vec2Config, transformers.Wav2Vec2Model),
        "hubert": (transformers.HubertConfig, transformers.HubertModel),
        "wavlm": (transformers.WavLMConfig, transformers.WavLMModel),
    }
    if arch not in builders:
        raise ConfigError(f"unknown SSL architecture {arch!r}; expected one of {sorted(builders)}")
    config_cls, model_cls = builders[arch]
    torch.manual_seed(0)
    model_cls(config_cls(**common)).save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True).save_pretrained(
        folder
    )
    return folder


class _SSLBase(Extractor):
    @classmethod
    def example_params(cls, workdir: Path) -> dict[str, Any]:
        """A tiny random checkpoint under ``workdir`` for the contract suite."""
        return {"model_path": str(tiny_checkpoint(Path(workdir) / "tiny-ssl-wav2vec2"))}

    def _frames(self, signal: np.ndarray) -> np.ndarray:
        c = self.config
        model, do_normalize, rate = load_ssl_model(c.model_path)
        if rate is not None and rate != self.sample_rate:
            raise ConfigError(
                f"{c.model_path}: the checkpoint expects {rate} Hz audio but sample_rate="
                f"{self.sample_rate}; set sample_rate={rate}"
            )
        normalize = c.normalize_waveform
        if normalize is None:
            normalize = True if do_normalize is None else do_normalize
        n_states = int(model.config.num_hidden_layers) + 1
        return ssl_hidden_states(
            signal,
            model,
            select_layers(n_states, c.layer),
            layer_reduce=c.layer_reduce,
            normalize=normalize,
            chunk_samples=int(round(c.max_chunk_s * self.sample_rate)),
        )

    def _frame_names(self) -> list[str]:
        model, _, _ = load_ssl_model(self.config.model_path)
        n_states = int(model.config.num_hidden_layers) + 1
        layers = select_layers(n_states, self.config.layer)
        hidden = int(model.config.hidden_size)
        if self.config.layer_reduce == "concat":
            return [f"ssl_l{layer}_{i}" for layer in layers for i in range(hidden)]
        return [f"ssl_{i}" for i in range(hidden)]


@register_extractor
class SSLFrames(_SSLBase):
    """Frame-level SSL hidden states ``(frames, hidden)`` from a local checkpoint."""

    name = "ssl-frames"
    level = "frame"
    Config = SSLFramesConfig

    def compute(self, signal: np.ndarray) -> np.ndarray:
        return self._frames(signal)

    def feature_names(self) -> list[str]:
        return self._frame_names()


@register_extractor
class SSL(_SSLBase):
    """Utterance-level pooled SSL representation from a local checkpoint."""

    name = "ssl"
    level = "utterance"
    Config = SSLConfig

    def compute(self, signal: np.ndarray) -> np.ndarray:
        return pool(self._frames(signal), self.config.pooling).astype(np.float32)

    def feature_names(self) -> list[str]:
        names = self._frame_names()
        if self.config.pooling == "mean":
            return [f"{n}_mean" for n in names]
        return [f"{n}_mean" for n in names] + [f"{n}_std" for n in names]
