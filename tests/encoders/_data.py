"""Small synthetic frame features for the encoder tests: 4 classes x 4 rows, two speakers."""

from __future__ import annotations

import numpy as np

DIM = 9  # a multiple of 3: cola-alexnet reads (static, delta, delta-delta) channels


def frames(n_per_class: int = 4, classes: int = 4, seed: int = 0) -> tuple[list, np.ndarray]:
    """``(list of (frames_i, DIM) float32, labels (n,))``: class c shifts dimension c."""
    rng = np.random.default_rng(seed)
    out, labels = [], []
    for c in range(classes):
        for _ in range(n_per_class):
            x = rng.normal(0, 1, (int(rng.integers(24, 40)), DIM)).astype(np.float32)
            x[:, c % DIM] += 2.0
            out.append(x)
            labels.append(c)
    return out, np.asarray(labels, dtype=np.int64)
