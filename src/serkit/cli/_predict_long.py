"""``serkit predict`` helpers: the default model when none is given, and ``--segment``."""

from __future__ import annotations

from pathlib import Path

import typer

SEGMENT_FORMATS = ("table", "csv", "json", "srt")


def is_model(path: Path) -> bool:
    """Whether ``path`` names a model: an ``.onnx`` file, a folder with ``model.json`` (itself
    or in ``model/``), or a run folder (``config.yaml``; the loader says if its model is
    missing)."""
    if path.suffix == ".onnx":
        return True
    return any(
        (path / name).is_file() for name in ("model.json", "model/model.json", "config.yaml")
    )


def model_and_inputs(
    model: Path | None, inputs: list[Path], with_manifest: bool
) -> tuple[Path, list[Path]]:
    """The model to load and the audio inputs.

    ``MODEL`` that is no model (audio, a folder of audio) is the first input, and the shipped
    default model predicts (``serkit predict clip.wav``); so does a bare ``--manifest``.
    """
    from serkit.pretrained import default_model_path

    if model is None:
        return default_model_path(), inputs
    if is_model(model):
        return model, inputs
    if model.exists() or inputs or not with_manifest:
        typer.echo("no model given: using serkit's default model (serkit info --model)", err=True)
        return default_model_path(), [model, *inputs]
    return model, inputs  # a missing model path with --manifest: let the loader say so


def predict_segments(
    model: Path,
    inputs: list[Path],
    manifest: Path | None,
    speaker: str | None,
    method: str,
    window: float,
    hop: float,
    fmt: str,
    output: Path | None,
) -> None:
    """Segment every input file and write the segments with the whole-file decision.

    Raises:
        typer.BadParameter: bad option values or combinations (naming the flag).
    """
    from serkit.errors import ConfigError
    from serkit.inference import Predictor, collect_audio
    from serkit.segmentation import METHODS, SegmentConfig, predict_long

    if method not in METHODS:
        raise typer.BadParameter(f"--segment: expected one of {', '.join(METHODS)}, got {method!r}")
    if fmt not in SEGMENT_FORMATS:
        raise typer.BadParameter(f"--format: expected one of {', '.join(SEGMENT_FORMATS)}")
    if manifest is not None or speaker is not None:
        raise typer.BadParameter(
            "--segment works on audio INPUTS of unknown speakers; drop --manifest/--speaker"
        )
    try:
        config = SegmentConfig(method, window_s=window, hop_s=hop)
    except ConfigError as exc:
        message = exc.message.replace("SegmentConfig ", "").replace("window_s", "--window")
        raise typer.BadParameter(message.replace("hop_s", "--hop")) from None
    files = collect_audio(inputs)
    if not files:
        raise typer.BadParameter("give audio INPUTS (files or folders holding audio)")
    if fmt == "srt" and len(files) > 1:
        raise typer.BadParameter(
            f"--format srt writes one file's subtitles; got {len(files)} files: give one"
        )
    predictor = Predictor.from_path(model)
    results = [predict_long(predictor, path, config) for path in files]
    if fmt == "srt":
        text = results[0].to_srt()
    elif fmt == "json":
        import json

        payload = [r.to_dict() for r in results]
        text = json.dumps(payload[0] if len(payload) == 1 else payload, indent=2) + "\n"
    else:
        import pandas as pd

        frames = [r.to_frame(decision=True).assign(path=r.source) for r in results]
        df = pd.concat(frames, ignore_index=True)
        df = df[["path"] + [c for c in df.columns if c != "path"]]
        if fmt == "csv":
            text = df.to_csv(index=False, float_format="%.6f")
        else:
            text = df.to_string(index=False, float_format=lambda v: f"{v:.3f}") + "\n"
    if output is not None:
        from serkit.atomic import atomic_write_text

        output.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(output, text)
        count = sum(len(r.segments) for r in results)
        typer.echo(f"wrote {count} segment(s) of {len(results)} file(s) to {output}", err=True)
    else:
        typer.echo(text, nl=False)
    undecided = [r for r in results if r.decision["label"] is None]
    if undecided:
        typer.secho(
            f"{len(undecided)} of {len(results)} file(s) without a decision (no analysable "
            "segment; see the status column)",
            err=True,
            fg=typer.colors.YELLOW,
        )
    if len(undecided) == len(results):
        from serkit.features.base import FeatureError

        first = undecided[0]
        raise FeatureError(
            f"{first.source}: {first.decision['status']}; give audio with speech in it"
        )
