"""Latent-space plots: UMAP and t-SNE projections of embeddings, coloured by row metadata.

:func:`latent_plots` projects ``(n, d)`` embeddings to 2-D once per method and writes one PNG
per method and colouring column (emotion, speaker, gender, intensity: whichever the metadata
has), plus the 2-D coordinates as ``latents_2d.csv``. Both projections are deterministic for a
given ``seed``. UMAP needs ``umap-learn`` (the ``plots`` extra); without it the function warns
and makes the t-SNE plots.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from serkit.errors import ConfigError

METHODS = ("umap", "tsne")
#: metadata columns the points are coloured by, in this order
COLOUR_BY = ("emotion", "speaker", "gender", "intensity")
#: t-SNE / UMAP run on at most this many principal components (speed on wide embeddings)
MAX_COMPONENTS = 50


def _prepare(embeddings: np.ndarray, seed: int) -> np.ndarray:
    """Standardised embeddings (constant columns dropped), reduced by PCA when wide."""
    X = np.asarray(embeddings, dtype=np.float64)
    X = X[:, X.std(axis=0) > 1e-12]
    if X.shape[1] == 0:
        raise ConfigError("latent_plots: every embedding dimension is constant; nothing to plot")
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    if X.shape[1] > MAX_COMPONENTS and X.shape[0] > MAX_COMPONENTS:
        from sklearn.decomposition import PCA

        X = PCA(n_components=MAX_COMPONENTS, random_state=seed).fit_transform(X)
    return X


def project(X: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """2-D projection of ``X`` ``(n, d)`` by ``"umap"`` or ``"tsne"``: ``(n, 2)``.

    Raises:
        ImportError: ``"umap"`` without ``umap-learn`` installed.
    """
    n = X.shape[0]
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(1.0, (n - 1) / 3.0)))
        tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
        return tsne.fit_transform(X)
    if method == "umap":
        with warnings.catch_warnings():  # "n_jobs overridden by random_state": wanted here
            warnings.simplefilter("ignore", UserWarning)
            import umap

            reducer = umap.UMAP(
                n_components=2, n_neighbors=int(min(15, n - 1)), random_state=seed, n_jobs=1
            )
            return reducer.fit_transform(X)
    raise ConfigError(f"latent plot method {method!r}; expected one of {', '.join(METHODS)}")


def _colours(n: int) -> list:
    import matplotlib

    if n <= 10:
        cmap = matplotlib.colormaps["tab10"]
        return [cmap(i) for i in range(n)]
    cmaps = [matplotlib.colormaps["tab20"], matplotlib.colormaps["tab20b"]]
    return [cmaps[(i // 20) % 2](i % 20) for i in range(n)]


def _scatter(xy: np.ndarray, labels: pd.Series, title: str, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from serkit.atomic import atomic_path

    values = labels.astype("string").fillna("NA")
    categories = sorted(values.unique())
    colours = _colours(len(categories))
    markers = "os^Dv<>P"
    fig, ax = plt.subplots(figsize=(7.5, 5.0), dpi=100)
    try:
        for i, category in enumerate(categories):
            mask = (values == category).to_numpy()
            ax.scatter(
                xy[mask, 0],
                xy[mask, 1],
                s=12,
                color=colours[i],
                marker=markers[(i // 20) % len(markers)],
                label=f"{category} ({int(mask.sum())})",
                alpha=0.8,
                linewidths=0,
            )
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        columns = 1 if len(categories) <= 14 else 2
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, ncols=columns)
        fig.tight_layout()
        with atomic_path(out, keep_suffix=True) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return out


def latent_plots(
    embeddings: np.ndarray,
    meta: pd.DataFrame,
    out_dir: str | os.PathLike,
    *,
    methods: tuple[str, ...] | list[str] = METHODS,
    seed: int = 0,
) -> list[Path]:
    """Write 2-D projections of ``embeddings`` coloured by each metadata column, as PNGs.

    Args:
        embeddings: ``(n, d)`` one row per utterance (n >= 4).
        meta: ``n`` rows, in the same order; the columns among ``emotion``, ``speaker``,
            ``gender``, ``intensity`` that it has colour the points (none: one plain plot).
        out_dir: folder for ``latents_<method>_<column>.png`` and ``latents_2d.csv``.
        methods: ``"umap"`` and/or ``"tsne"``.
        seed: random seed of both projections (same seed, same picture).

    Returns:
        The PNG paths written. Without ``umap-learn``, a warning says so and only the t-SNE
        plots are made.

    Raises:
        ConfigError: shapes that do not match, fewer than 4 rows, non-finite or constant
            values, an unknown method, or only ``"umap"`` asked for without ``umap-learn``.
    """
    from serkit.atomic import atomic_write_text

    X = np.asarray(embeddings)
    if X.ndim != 2:
        raise ConfigError(f"latent_plots: embeddings must be (n, d), got shape {X.shape}")
    if len(meta) != X.shape[0]:
        raise ConfigError(
            f"latent_plots: {X.shape[0]} embeddings but {len(meta)} metadata rows; give one "
            "metadata row per embedding, in the same order"
        )
    if X.shape[0] < 4:
        raise ConfigError(f"latent_plots: need at least 4 rows to project, got {X.shape[0]}")
    if not np.all(np.isfinite(X)):
        bad = int((~np.isfinite(X)).any(axis=1).sum())
        raise ConfigError(f"latent_plots: {bad} embedding row(s) hold NaN or inf values")
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ConfigError(
            f"latent plot method(s) {unknown or list(methods)}; expected umap and/or tsne"
        )
    chosen = list(dict.fromkeys(methods))
    if "umap" in chosen:
        try:
            import umap  # noqa: F401
        except ImportError:
            chosen.remove("umap")
            if not chosen:
                raise ConfigError(
                    "UMAP plots need umap-learn, which is not installed: pip install "
                    "'serkit[plots]' (or ask for the t-SNE plots)"
                ) from None
            warnings.warn(
                "umap-learn is not installed (pip install 'serkit[plots]'): made the t-SNE "
                "plots only",
                stacklevel=2,
            )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    prepared = _prepare(X, seed)
    meta = meta.reset_index(drop=True)
    columns = [c for c in COLOUR_BY if c in meta.columns]
    written: list[Path] = []
    coords = pd.DataFrame({"id": meta["id"]} if "id" in meta.columns else {})
    for method in chosen:
        xy = project(prepared, method, seed)
        coords[f"{method}_x"], coords[f"{method}_y"] = xy[:, 0], xy[:, 1]
        label = "UMAP" if method == "umap" else "t-SNE"
        for column in columns or [None]:
            labels = meta[column] if column else pd.Series(["all"] * len(meta))
            name = f"latents_{method}_{column or 'all'}.png"
            title = f"{label} of {X.shape[0]} embeddings ({X.shape[1]}-d)" + (
                f" by {column}" if column else ""
            )
            written.append(_scatter(xy, labels, title, out_dir / name))
    atomic_write_text(out_dir / "latents_2d.csv", coords.to_csv(index=False))
    return written


def manifest_latents(
    encoder: str | os.PathLike,
    manifest: pd.DataFrame,
    store: str | os.PathLike,
    *,
    layer: str | None = None,
    fold: str | None = None,
    pooling: str = "mean",
    skip_bad: bool = False,
    progress: bool = False,
) -> tuple[np.ndarray, pd.DataFrame, list[str]]:
    """Embeddings of every manifest row through the ``encoder`` extractor (cached in ``store``).

    Args:
        encoder: an encoder package folder or a ``serkit pretrain`` run folder.
        manifest: the rows to embed.
        store: the feature store the embeddings are kept in (a second call reads them back).
        layer: the family's layer (``None``: its first); pooling: for a frame-level layer.
        fold: which package of a per-fold pretrain run.
        skip_bad: skip rows whose audio cannot be read (listed in the third return value).
        progress: show a progress bar.

    Returns:
        ``(embeddings (n, d), meta (the n manifest rows embedded, in order), skipped)``.
    """
    from serkit.features import extract, get_extractor, load

    extractor = get_extractor(
        "encoder", path=str(encoder), layer=layer or "", fold=fold or "", pooling=pooling
    )
    if extractor.level != "utterance":
        raise ConfigError(
            f"layer {layer!r} is frame-level and pooling={pooling!r} keeps the frames; a latent "
            "plot needs one vector per utterance: pass pooling='mean' (or max, mean+std)"
        )
    summary = extract(manifest, extractor, store, skip_bad=skip_bad, progress=progress)
    features = load(manifest, extractor, store, allow_missing=skip_bad)
    order = pd.Index(manifest["id"].astype(str)).get_indexer(list(features.ids))
    meta = manifest.iloc[order].reset_index(drop=True)
    return np.asarray(features.X), meta, list(summary.skipped)
