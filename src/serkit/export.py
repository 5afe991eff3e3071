"""ONNX export of registered nets and fitted neural models, and an onnxruntime classifier.

An exported graph takes ``x`` ``(batch, frames, dim)`` float32 (zero-padded) and ``lengths``
``(batch,)`` int64 and returns ``logits`` ``(batch, classes)``; batch and frames are dynamic
axes. For a fitted model the graph includes its z-score normalisation; everything that is not a
tensor operation (class names, segmenting and segment pooling of ACRNN-style models, the
feature front end) is stored as JSON in the ONNX metadata (key ``serkit``) and applied by
:class:`OnnxClassifier`, so ``OnnxClassifier(path).predict_proba(X)`` reproduces
``model.predict_proba(X)``, and ``Predictor.from_path("model.onnx")`` predicts audio files
through the recorded front end (VAD and normalisation included) with ONNX Runtime.

Example::

    from serkit.export import export, OnnxClassifier
    export("runs/ravdess_acrnn/model", "acrnn.onnx")
    clf = OnnxClassifier("acrnn.onnx")
    clf.predict(frames)  # list of (frames_i, dim) arrays
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from serkit.atomic import atomic_path
from serkit.errors import ConfigError
from serkit.features.frontend import Frontend

META_KEY = "serkit"
DEFAULT_OPSET = 17


def _torch_wrapper(net: Any, mean: np.ndarray | None, std: np.ndarray | None) -> Any:
    import torch
    from torch import nn

    class Normalised(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net
            dim = None if mean is None else len(mean)
            self.register_buffer(
                "mean",
                torch.zeros(dim or 1)
                if mean is None
                else torch.as_tensor(np.asarray(mean, np.float32)),
            )
            self.register_buffer(
                "std",
                torch.ones(dim or 1)
                if std is None
                else torch.as_tensor(np.asarray(std, np.float32)),
            )

        def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
            return self.net((x - self.mean) / self.std, lengths)

    return Normalised().eval()


def export_net(
    net: Any,
    path: str | os.PathLike,
    input_dim: int,
    *,
    mean: np.ndarray | None = None,
    std: np.ndarray | None = None,
    metadata: dict[str, Any] | None = None,
    example_frames: int = 300,
    opset: int = DEFAULT_OPSET,
) -> Path:
    """Export an ``nn.Module`` with the net contract ``forward(x, lengths) -> logits`` to ONNX.

    Args:
        net: the module (put in eval mode; it is not modified otherwise).
        path: destination ``.onnx`` file (written atomically).
        input_dim: feature dimension ``dim``.
        mean: optional ``(dim,)`` z-score mean folded into the graph.
        std: optional ``(dim,)`` z-score standard deviation.
        metadata: JSON-able facts stored under the metadata key ``serkit``.
        example_frames: frames of the tracing example (any length works afterwards).
        opset: ONNX opset.

    Returns:
        The written path.
    """
    import onnx
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = net.training
    net.eval()
    wrapper = _torch_wrapper(net, mean, std)
    x = torch.randn(2, int(example_frames), int(input_dim))
    lengths = torch.tensor([int(example_frames), max(1, int(example_frames) * 2 // 3)])
    try:
        with atomic_path(path) as tmp:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer warnings about shape arithmetic
                torch.onnx.export(
                    wrapper,
                    (x, lengths),
                    str(tmp),
                    input_names=["x", "lengths"],
                    output_names=["logits"],
                    dynamic_axes={
                        "x": {0: "batch", 1: "frames"},
                        "lengths": {0: "batch"},
                        "logits": {0: "batch"},
                    },
                    opset_version=opset,
                    dynamo=False,
                )
            proto = onnx.load(str(tmp))
            entry = proto.metadata_props.add()
            entry.key, entry.value = META_KEY, json.dumps(metadata or {})
            onnx.save(proto, str(tmp))
    finally:
        net.train(was_training)
    return path


def model_metadata(
    model: Any, extra: dict[str, Any] | None = None, frontend: Frontend | None = None
) -> dict[str, Any]:
    """What :class:`OnnxClassifier` needs besides the graph (classes, segmenting, pooling) and
    the feature front end that turns audio into its input."""
    meta: dict[str, Any] = {
        "model": getattr(model, "model_name", type(model).__name__),
        "classes": [str(c) for c in np.asarray(model.classes_).tolist()],
        "input_dim": int(model.input_dim_),
    }
    if hasattr(model, "segment_frames") and hasattr(model, "pooling"):
        meta["segments"] = {
            "length": int(model.segment_frames),
            "hop": int(model.segment_hop),
            "pooling": str(model.pooling),
            "on": str(model.pool_on),
        }
        tail_after = getattr(model, "segment_tail_after", None)  # rhemo-cnn: RH-emo's rule
        if tail_after is not None:
            meta["segments"]["tail_after"] = int(tail_after)
    if extra:
        meta.update({k: v for k, v in extra.items() if k in ("label_set", "test_speeds")})
    if frontend is not None:
        meta["frontend"] = frontend.to_dict()
    return meta


def export_model(
    model: Any,
    path: str | os.PathLike,
    *,
    extra: dict[str, Any] | None = None,
    frontend: Frontend | None = None,
    **kwargs: Any,
) -> Path:
    """Export a fitted neural model (anything with ``module_``, ``classes_``, ``input_dim_``)
    with its feature front end (``frontend``) in the metadata."""
    if not hasattr(model, "module_"):
        raise ConfigError(
            f"{type(model).__name__} has no trained torch module; only neural models (e.g. "
            "'neural', 'acrnn', 'dcnn-blstmwa') can be exported to ONNX"
        )
    frames = 300
    if hasattr(model, "segment_frames"):
        frames = int(model.segment_frames)
    kwargs.setdefault("example_frames", frames)
    return export_net(
        model.module_,
        path,
        int(model.input_dim_),
        mean=getattr(model, "norm_mean_", None),
        std=getattr(model, "norm_std_", None),
        metadata=model_metadata(model, extra, frontend),
        **kwargs,
    )


@dataclass
class ExportResult:
    """What :func:`export` did: the file and how closely ONNX Runtime matches torch."""

    path: Path
    model: str
    max_abs_diff: float


def export(
    source: str | os.PathLike,
    out: str | os.PathLike,
    *,
    check: bool = True,
    seed: int = 0,
    trust_pickle: bool = False,
) -> ExportResult:
    """Export the model of a run folder or package folder to ONNX and verify it.

    Args:
        source: run folder (with ``model/``) or model package folder.
        out: destination ``.onnx`` file.
        check: compare ONNX Runtime with torch logits on random inputs.
        seed: seed of the check inputs.
        trust_pickle: load an old package whose model is a pickle (loading runs its code;
            see :func:`serkit.models.package.load_model`).

    Returns:
        :class:`ExportResult` (``max_abs_diff`` is NaN when ``check`` is False).
    """
    from serkit.inference import frontend_from_meta, resolve_model_dir
    from serkit.models.package import load_model

    folder = resolve_model_dir(source)
    model, meta = load_model(folder, trust_pickle=trust_pickle)
    frontend = frontend_from_meta(meta, folder, required=False)
    path = export_model(model, out, extra=meta.get("extra"), frontend=frontend)
    diff = float("nan")
    if check:
        diff = compare(model.module_, path, int(model.input_dim_), model=model, seed=seed)
    return ExportResult(path=Path(path), model=str(meta.get("name")), max_abs_diff=diff)


def compare(
    net: Any,
    path: str | os.PathLike,
    input_dim: int,
    *,
    model: Any = None,
    frames: Sequence[int] = (300, 180, 97),
    seed: int = 0,
) -> float:
    """Max absolute difference of torch and ONNX Runtime logits on a random padded batch."""
    import torch

    rng = np.random.default_rng(seed)
    lengths = np.asarray(frames, dtype=np.int64)
    x = rng.normal(size=(len(lengths), int(lengths.max()), input_dim)).astype(np.float32)
    for i, n in enumerate(lengths):
        x[i, n:] = 0.0
    mean = getattr(model, "norm_mean_", None)
    std = getattr(model, "norm_std_", None)
    wrapper = _torch_wrapper(net, mean, std)
    with torch.no_grad():
        ref = wrapper(torch.from_numpy(x), torch.from_numpy(lengths)).numpy()
    got = OnnxClassifier(path).logits(x, lengths)
    return float(np.abs(ref - got).max())


class OnnxClassifier:
    """ONNX Runtime inference of an exported model (``predict`` / ``predict_proba`` on frames).

    Args:
        path: ``.onnx`` file written by :func:`export_model` or :func:`export_net`.
        threads: intra-op threads of the session (``None``: onnxruntime's default).
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"{self.path}: no such ONNX file")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(self.path), options, providers=["CPUExecutionProvider"]
        )
        custom = self.session.get_modelmeta().custom_metadata_map
        self.meta: dict[str, Any] = json.loads(custom.get(META_KEY, "{}"))
        self.classes_ = np.asarray(self.meta.get("classes", []))

    #: exported graphs take frame sequences
    input_level = "frame"

    @property
    def frontend(self) -> Frontend:
        """The feature front end recorded at export (extractor, VAD, normalisation).

        Raises:
            ConfigError: the file records none (exported from a bare net).
        """
        spec = self.meta.get("frontend") or self.meta.get("extractor")
        if not spec:
            raise ConfigError(
                f"{self.path}: no feature front end in its metadata (exported from a bare net?); "
                "export a trained model package with serkit.export.export()"
            )
        return Frontend.from_dict(spec)

    def logits(self, x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Raw graph output: ``x`` ``(batch, frames, dim)``, ``lengths`` ``(batch,)`` ->
        ``(batch, classes)``."""
        feeds = {
            "x": np.ascontiguousarray(x, dtype=np.float32),
            "lengths": np.asarray(lengths, dtype=np.int64),
        }
        return self.session.run(["logits"], feeds)[0]

    def _batched(self, seqs: list[np.ndarray], batch_size: int) -> np.ndarray:
        from serkit.models.data import length_batches

        lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        out: np.ndarray | None = None
        for index in length_batches(lengths, batch_size):
            width = int(lengths[index].max())
            x = np.zeros((len(index), width, seqs[0].shape[1]), dtype=np.float32)
            for row, i in enumerate(index):
                x[row, : lengths[i]] = seqs[i]
            logits = self.logits(x, lengths[index])
            if out is None:
                out = np.zeros((len(seqs), logits.shape[1]), dtype=np.float32)
            out[index] = logits
        assert out is not None
        return out

    def predict_proba(self, X: Sequence[np.ndarray], batch_size: int = 32) -> np.ndarray:
        """Posteriors ``(n, classes)`` of a list of ``(frames_i, dim)`` arrays."""
        from serkit.models.data import check_frames
        from serkit.models.segments import pool_segments, segment_many

        seqs = check_frames(X, who="OnnxClassifier")
        seg = self.meta.get("segments")
        if seg:
            after = seg.get("tail_after")  # a window aligned to the end only past this length
            if after is None:
                windows, owner, lengths = segment_many(seqs, seg["length"], seg["hop"])
            else:
                parts = [
                    segment_many([s], seg["length"], seg["hop"], tail=len(s) > after) for s in seqs
                ]
                windows = np.concatenate([p[0] for p in parts])
                owner = np.concatenate([np.full(len(p[0]), i) for i, p in enumerate(parts)])
                lengths = np.concatenate([p[2] for p in parts])
            logits = np.concatenate(
                [
                    self.logits(windows[i : i + batch_size], lengths[i : i + batch_size])
                    for i in range(0, len(windows), batch_size)
                ]
            )
            return pool_segments(logits, owner, len(seqs), pooling=seg["pooling"], on=seg["on"])
        logits = self._batched(seqs, batch_size).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X: Sequence[np.ndarray], batch_size: int = 32) -> np.ndarray:
        """Labels ``(n,)``."""
        return self.classes_[np.argmax(self.predict_proba(X, batch_size), axis=1)]
