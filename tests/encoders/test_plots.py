"""Latent-space plots: UMAP / t-SNE PNGs per colouring column, deterministic for a seed."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from serkit.encoders.plots import latent_plots, project
from serkit.errors import ConfigError


def clusters(n: int = 60, d: int = 12, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """Three well-separated emotion clusters; speakers and gender drawn independently."""
    rng = np.random.default_rng(seed)
    emotion = np.array(["neutral", "happy", "angry"])[np.arange(n) % 3]
    centres = {"neutral": 0.0, "happy": 8.0, "angry": -8.0}
    X = rng.normal(size=(n, d)) + np.array([centres[e] for e in emotion])[:, None]
    meta = pd.DataFrame(
        {
            "id": [f"c/{i}" for i in range(n)],
            "emotion": emotion,
            "speaker": [f"c/s{i % 5}" for i in range(n)],
            "gender": np.where(np.arange(n) % 5 % 2, "male", "female"),
            "intensity": np.where(np.arange(n) % 2, "strong", "normal"),
        }
    )
    return X, meta


def test_one_png_per_method_and_column(tmp_path):
    X, meta = clusters()
    paths = latent_plots(X, meta, tmp_path)
    names = sorted(p.name for p in paths)
    assert names == sorted(
        f"latents_{m}_{c}.png"
        for m in ("umap", "tsne")
        for c in ("emotion", "speaker", "gender", "intensity")
    )
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    coords = pd.read_csv(tmp_path / "latents_2d.csv")
    assert coords["id"].tolist() == meta["id"].tolist()
    assert list(coords.columns[1:]) == ["umap_x", "umap_y", "tsne_x", "tsne_y"]


@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_projection_keeps_the_clusters_apart(method):
    X, meta = clusters()
    xy = project(X, method, seed=0)
    means = {e: xy[(meta["emotion"] == e).to_numpy()].mean(0) for e in ("neutral", "happy")}
    spread = max(xy[(meta["emotion"] == e).to_numpy()].std(0).max() for e in means)
    assert np.linalg.norm(means["neutral"] - means["happy"]) > 2 * spread


def test_same_seed_same_picture(tmp_path):
    X, meta = clusters()
    latent_plots(X, meta, tmp_path / "a", methods=("tsne", "umap"), seed=3)
    latent_plots(X, meta, tmp_path / "b", methods=("tsne", "umap"), seed=3)
    latent_plots(X, meta, tmp_path / "c", methods=("umap",), seed=4)
    a, b, c = (pd.read_csv(tmp_path / x / "latents_2d.csv") for x in "abc")
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["umap_x"], c["umap_x"])  # (t-SNE starts from PCA: no seed)


def test_only_the_columns_meta_has_and_wide_embeddings(tmp_path):
    X, meta = clusters(n=80, d=120)
    paths = latent_plots(X, meta[["emotion"]], tmp_path, methods=("tsne",))
    assert [p.name for p in paths] == ["latents_tsne_emotion.png"]
    paths = latent_plots(X, pd.DataFrame(index=range(80)), tmp_path / "plain", methods=("tsne",))
    assert [p.name for p in paths] == ["latents_tsne_all.png"]


def test_without_umap_it_says_so_and_makes_tsne(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)  # import umap -> ImportError
    X, meta = clusters()
    with pytest.warns(UserWarning, match="umap-learn is not installed"):
        paths = latent_plots(X, meta, tmp_path)
    assert paths and all("_tsne_" in p.name for p in paths)
    with pytest.raises(ConfigError, match="pip install 'serkit\\[plots\\]'"):
        latent_plots(X, meta, tmp_path, methods=("umap",))


@pytest.mark.parametrize(
    ("X", "rows", "kwargs", "match"),
    [
        (np.zeros((10, 3)), 9, {}, "10 embeddings but 9 metadata rows"),
        (np.zeros((3, 3)), 3, {}, "at least 4 rows"),
        (np.zeros(10), 10, {}, r"must be \(n, d\)"),
        (np.full((10, 3), np.nan), 10, {}, "10 embedding row\\(s\\) hold NaN"),
        (np.ones((10, 3)), 10, {"methods": ("tsne",)}, "every embedding dimension is constant"),
        (np.eye(10), 10, {"methods": ("pca",)}, "expected umap and/or tsne"),
    ],
)
def test_bad_input_is_refused(tmp_path, X, rows, kwargs, match):
    meta = pd.DataFrame({"emotion": ["a"] * rows})
    with pytest.raises(ValueError, match=match):
        latent_plots(X, meta, tmp_path, **kwargs)
