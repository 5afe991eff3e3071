"""An untrained encoder package of any registered family (the listening and latent tests)."""

from __future__ import annotations

import numpy as np

from serkit.encoders import get_encoder_class
from serkit.encoders.package import save_encoder
from serkit.features.frontend import Frontend


def save_family(family: str, folder, df=None):
    """An untrained package of ``family`` (its test sizes, its default front end)."""
    import torch

    cls = get_encoder_class(family)
    frontend = Frontend.from_config(cls.default_frontend)
    dim = int(frontend.compute(np.random.default_rng(0).normal(0, 0.1, 8000), 16000).shape[1])
    torch.manual_seed(0)
    classes = ["angry", "neutral"] if cls.uses_labels else []
    net = cls(dim, num_classes=len(classes), **cls.test_params())
    rng = np.random.default_rng(1)
    norm = {"mean": rng.normal(-5, 1, dim).tolist(), "std": rng.uniform(1, 3, dim).tolist()}
    ids = list(df["id"]) if df is not None else ["x/1"]
    speakers = list(df["speaker"]) if df is not None else ["x/s"]
    return save_encoder(
        net, folder, frontend=frontend, input_dim=dim, ids=ids, speakers=speakers,
        classes=classes, norm=norm,
    )
