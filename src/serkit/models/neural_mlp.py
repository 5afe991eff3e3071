"""``neural-mlp``: the emotion classifier of seed 004 (Bao et al. 2019) on utterance vectors.

The sklearn ``mlp`` model cannot express that classifier: scikit-learn's MLPClassifier has no
leaky ReLU and no dropout. ``neural-mlp`` is the ``mlp`` net (:mod:`serkit.models.nets.mlp`:
leaky ReLU, dropout, Glorot init) trained by serkit's one training loop
(:class:`~serkit.models.neural.NeuralClassifier`: Adam with beta1 0.9, softmax cross-entropy,
z-score fitted on the training rows) on ``(n, dim)`` vectors, each a one-frame sequence. Its
defaults are the paper's: a fixed number of epochs, no validation split, no early stopping,
no class weights, no weight decay, no gradient clipping.

The paper tuned the classifier per training regime (``seed_methods.md`` §4.5);
:data:`REGIMES` holds those settings, e.g. ``model: {name: neural-mlp, params:
{net_params: {hidden: [200, 200], dropout: 0.5}, lr: 1.0e-5, batch_size: 256, epochs: 5}}``
for ``inner-syn`` (:func:`regime_params` gives them as model parameters):

============== ============= ====== ===== ======= ======
regime         hidden        lr     batch dropout epochs
============== ============= ====== ===== ======= ======
inner-real     100, 100      1e-5   64    0.2     70
inner-syn      200, 200      1e-5   256   0.5     5
inner-real+syn 1000, 1000    5e-6   256   0.5     30
cross-real     50, 50        1e-5   64    0.2     70
cross-syn      200, 200      5e-6   256   0.5     5
cross-real+syn 200, 200      5e-6   256   0.5     30
============== ============= ====== ===== ======= ======

(``inner`` = within one corpus, speaker folds; ``cross`` = train on one corpus, test on
another.) The 5e-6 values are the original scripts' per-regime table; their command-line
default (1e-5) overrode it, so every original run used 1e-5: pass ``lr: 1.0e-5`` to match
the runs, keep 5e-6 to match the table.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from serkit.errors import ConfigError
from serkit.models import register_model
from serkit.models.neural import NeuralClassifier

#: the paper's per-regime settings: (hidden, lr, batch size, dropout, epochs)
REGIMES: dict[str, tuple[list[int], float, int, float, int]] = {
    "inner-real": ([100, 100], 1e-5, 64, 0.2, 70),
    "inner-syn": ([200, 200], 1e-5, 256, 0.5, 5),
    "inner-real+syn": ([1000, 1000], 5e-6, 256, 0.5, 30),
    "cross-real": ([50, 50], 1e-5, 64, 0.2, 70),
    "cross-syn": ([200, 200], 5e-6, 256, 0.5, 5),
    "cross-real+syn": ([200, 200], 5e-6, 256, 0.5, 30),
}


def regime_params(regime: str) -> dict[str, Any]:
    """The ``neural-mlp`` parameters of one of the paper's regimes (:data:`REGIMES`).

    Example:
        >>> regime_params("inner-syn")["net_params"]
        {'hidden': [200, 200], 'dropout': 0.5}
    """
    if regime not in REGIMES:
        raise ConfigError(f"unknown regime {regime!r}; known: {', '.join(REGIMES)}")
    hidden, lr, batch, dropout, epochs = REGIMES[regime]
    return {
        "net_params": {"hidden": list(hidden), "dropout": dropout},
        "lr": lr,
        "batch_size": batch,
        "epochs": epochs,
    }


def _as_frames(X: Any, who: str) -> list[np.ndarray]:
    """``(n, dim)`` vectors as ``n`` one-frame sequences ``(1, dim)``."""
    from serkit.models.classic import check_matrix

    X = check_matrix(X, who=who).astype(np.float32)
    return [X[i : i + 1] for i in range(len(X))]


@register_model("neural-mlp")
class NeuralMLP(NeuralClassifier):
    """The ``mlp`` net on utterance vectors; parameters as :class:`NeuralClassifier`, with the
    paper's defaults (``inner-real`` regime: hidden 100-100, dropout 0.2, Adam lr 1e-5, batch
    64, 70 epochs, no validation split or early stopping, no class weights)."""

    input_level: ClassVar[str] = "utterance"

    def __init__(
        self,
        net: str = "mlp",
        net_params: dict[str, Any] | None = None,
        epochs: int = 70,
        batch_size: int = 64,
        lr: float = 1e-5,
        weight_decay: float = 0.0,
        optimizer: str = "adam",
        scheduler: str = "none",
        patience: int | None = None,
        val_fraction: float = 0.0,
        class_weight: str | None = None,
        grad_clip: float | None = None,
        max_frames: int | None = None,
        normalize: str = "global",
        seed: int = 0,
        device: str = "auto",
        num_threads: int | None = None,
        checkpoint_dir: str | None = None,
        resume: bool = True,
    ) -> None:
        super().__init__(
            net=net,
            net_params=net_params,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            optimizer=optimizer,
            scheduler=scheduler,
            patience=patience,
            val_fraction=val_fraction,
            class_weight=class_weight,
            grad_clip=grad_clip,
            max_frames=max_frames,
            normalize=normalize,
            seed=seed,
            device=device,
            num_threads=num_threads,
            checkpoint_dir=checkpoint_dir,
            resume=resume,
        )

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """A small, fast net for the contract suite."""
        return {"epochs": 30, "batch_size": 8, "lr": 1e-2, "net_params": {"hidden": [16]}}

    def build_module(self, input_dim: int, n_classes: int) -> Any:
        """The ``mlp`` net with the paper's sizes unless ``net_params`` say otherwise."""
        from serkit.models.nets import build_net

        params = {"hidden": [100, 100], "dropout": 0.2, **(self.net_params or {})}
        return build_net(self.net, input_dim, n_classes, **params)

    def fit(self, X: Any, y: Any, groups: Any = None, *, val_index: Any = None) -> NeuralMLP:
        """Train on ``X`` ``(n, dim)`` with labels ``y`` ``(n,)`` (``groups``: speakers, for a
        validation split when ``val_fraction > 0``)."""
        super().fit(_as_frames(X, type(self).__name__), y, groups, val_index=val_index)
        return self

    def predict_logits(self, X: Any) -> np.ndarray:
        """Logits ``(n, classes)`` of ``X`` ``(n, dim)``."""
        return super().predict_logits(_as_frames(X, type(self).__name__))
