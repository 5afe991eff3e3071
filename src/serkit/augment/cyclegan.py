"""``cyclegan``: feature-space CycleGAN emotion style transfer (seed 004, Bao, Neumann & Vu 2019).

For every emotion ``i`` of the training fold a CycleGAN maps source-corpus vectors ``S``
(unlabelled) to the fold's vectors ``T_i`` of that emotion (``seed_methods.md`` §4.2-4.4):

* generators ``G_i: S -> T_i`` and ``F_i: T_i -> S``, MLPs ``dim-1000-500-1000-dim`` (paper),
  leaky ReLU (0.2) and dropout after every hidden layer, linear output, Glorot-uniform weights
  and zero biases; discriminators ``D_i^T`` and ``D_i^S``, MLPs ``dim-1000-1000-1``;
* one classifier ``C`` (``dim-100-100-classes``, dropout 0.5) shared by all emotions, trained
  on the generated batches ``G_1(S) ... G_k(S)`` with labels ``1 ... k``;
* losses of :mod:`serkit.augment.losses`: one-sided label smoothing (real label 0.9), cycle
  loss weighted by ``lambda_cyc`` (5) and classification loss by ``lambda_cls`` (2);
* pre-training of each ``(G_i, F_i)`` pair as two stacked autoencoders (cycle loss only), then
  joint training: Adam, batches drawn independently from every domain, per iteration one
  discriminator step then two generator steps, learning rate x0.8 every 50 epochs. The
  original made ``min_domain_size // batch_size`` iterations per epoch (the smallest of the
  source and all emotions' sets, in pre-training the pair's two sets): ``epoch_size="min"``,
  ``min_steps=0``, what the ``paper`` preset keeps. ``C`` is updated by the generator optimiser
  (its loss is part of the generator objective) [inferred from the code's single G loss].

The original code's discriminator optimiser also updated the generators ``G_i`` (their
variables were in its list, and the fakes were not detached): ``fix_discriminator_bug=True``
(default) updates only the discriminators there; ``False`` reproduces the original.

Scaling: with ``standardize=True`` the fold's target vectors are z-scored with the fold's own
statistics and the source vectors with the source's own statistics (each domain by its own
scaler, as the paper scaled each corpus by its own min-max); synthetic vectors come back in the
fold's original feature scale. Everything is seeded: the same inputs and ``seed`` give the
same synthetic vectors on the CPU (torch's global random state is left untouched).

Presets: ``cpu`` (default: hidden layers 128-64-128 / 128-128 / 64-64, 30 epochs after 10
pre-training epochs, lr 1e-3, at least ``min_steps=150`` iterations per stage) and ``paper``
(the sizes above, 10 000 pre-training and 2000 joint epochs, lr 2e-4, the original's epochs).
Explicit parameters override the preset.

Why ``min_steps``: with 30 epochs and the original epoch size, one small emotion holds every
CycleGAN to its ``n // 64`` iterations per epoch (RAVDESS 4 classes: 80 neutral training rows,
1 iteration per epoch, 30 joint iterations in all), and the synthetic rows stay about as far
from the real ones as the source. ``epoch_size="max"`` (iterations from the largest domain,
here the 2135-row source: about 1000 joint iterations) took over 150 s per fold on one core.
The value 150 was chosen on the training rows of one fold only (RAVDESS 4 classes, speaker
6-fold seed 0, fold0; 560 rows, source TurEV-DB + URDU; no test row): the per-feature Fisher
ratio (mean over the 1582 features, then over the emotions) between each emotion's 200
synthetic rows and that emotion's real *training* rows was 0.261 with the original epochs
(neutral 0.507; source vs training rows 0.47), 0.067 with ``min_steps=150`` (neutral 0.061;
33 s per fold, the machine's two cores shared) and 0.016 with 300 (86 s). 150 is the largest
value tried that keeps a fold under ~60 s on one core; a ratio near 0 against the training
rows also means the synthetic rows copy them closely, which says nothing yet about test UAR.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np

from serkit.augment import register_augmenter
from serkit.augment.base import Augmenter, Synthetic
from serkit.errors import ConfigError

#: the cpu preset's lower bound on iterations per stage (chosen on one fold's training rows,
#: see the module docstring)
MIN_STEPS_CPU = 150
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {
        "hidden_g": [128, 64, 128],
        "hidden_d": [128, 128],
        "hidden_c": [64, 64],
        "epochs": 30,
        "pretrain_epochs": 10,
        "batch_size": 64,
        "lr": 1e-3,
        "epoch_size": "min",
        "min_steps": MIN_STEPS_CPU,
    },
    "paper": {
        "hidden_g": [1000, 500, 1000],
        "hidden_d": [1000, 1000],
        "hidden_c": [100, 100],
        "epochs": 2000,
        "pretrain_epochs": 10000,
        "batch_size": 64,
        "lr": 2e-4,
        "epoch_size": "min",
        "min_steps": 0,
    },
}
#: parameters every preset shares (the paper's values)
COMMON = {
    "lambda_cyc": 5.0,
    "lambda_cls": 2.0,
    "dropout": 0.2,
    "dropout_cls": 0.5,
    "label_smoothing": 0.1,
    "lr_decay": 0.8,
    "lr_decay_every": 50,
}


def _mlp(sizes: list[int], dropout: float) -> Any:
    """``Linear`` layers of ``sizes``, leaky ReLU (0.2) + dropout after each hidden layer,
    linear output; Glorot-uniform weights, zero biases."""
    from torch import nn

    layers: list[Any] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        linear = nn.Linear(n_in, n_out)
        nn.init.xavier_uniform_(linear.weight)
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < len(sizes) - 2:
            layers += [nn.LeakyReLU(0.2), nn.Dropout(dropout)]
    return nn.Sequential(*layers)


def _scaler(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std ``(dim,)`` (std 1 where a feature is constant)."""
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    std[std == 0] = 1.0
    return mean, std


def _check(X: Any, who: str, dim: int | None = None) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) == 0:
        raise ConfigError(f"cyclegan: {who} must be a non-empty (n, dim) matrix, found {X.shape}")
    if dim is not None and X.shape[1] != dim:
        raise ConfigError(
            f"cyclegan: {who} has {X.shape[1]} features per row, the training fold has {dim}; "
            "give the source corpus the same front end (features section) as the target"
        )
    bad = np.flatnonzero(~np.all(np.isfinite(X), axis=1))
    if len(bad):
        raise ConfigError(
            f"cyclegan: {who} rows {bad[:5].tolist()} contain NaN or inf features; "
            "fix or drop those utterances"
        )
    return X


def steps(class_sizes: list[int], n_source: int, hp: dict[str, Any]) -> dict[str, Any]:
    """Optimiser iterations of a fit: ``joint_steps`` (joint iterations, each one D and two
    G steps) and ``pretrain_steps`` (per emotion, in ``class_sizes`` order)."""
    from serkit.augment._cyclegan_train import iterations_per_epoch

    def per_epoch(sizes: list[int], epochs: int) -> int:
        return iterations_per_epoch(
            sizes, int(hp["batch_size"]), str(hp["epoch_size"]), epochs, int(hp["min_steps"])
        )

    epochs, pre = int(hp["epochs"]), int(hp["pretrain_epochs"])
    return {
        "joint_steps": per_epoch([*class_sizes, *[n_source] * len(class_sizes)], epochs) * epochs,
        "pretrain_steps": [per_epoch([n, n_source], pre) * pre if pre else 0 for n in class_sizes],
    }


@register_augmenter("cyclegan")
class CycleGANAugmenter(Augmenter):
    """One CycleGAN per emotion plus a shared classifier (see the module docstring).

    Args:
        preset: ``"cpu"`` (default) or ``"paper"``.
        hidden_g: hidden sizes of ``G`` (``F`` mirrors them); ``None``: the preset's.
        hidden_d: hidden sizes of the discriminators.
        hidden_c: hidden sizes of the shared classifier.
        lambda_cyc: weight of the cycle loss (5).
        lambda_cls: weight of the classification loss (2; the paper's sweep: 0, 1, 2, 3).
        epochs: joint-training epochs.
        pretrain_epochs: generator pre-training epochs (0: none).
        batch_size: batch size per domain.
        lr: Adam learning rate of generators, discriminators and classifier.
        lr_decay: learning-rate factor applied every ``lr_decay_every`` joint epochs.
        lr_decay_every: epochs between decays.
        dropout: dropout of generators and discriminators (the paper's keep-prob 0.8).
        dropout_cls: dropout of the classifier (keep-prob 0.5).
        label_smoothing: one-sided smoothing: real vectors get the label ``1 - label_smoothing``.
        epoch_size: iterations per epoch from the smallest domain (``"min"``, the original:
            ``min n // batch_size``) or the largest (``"max"``: the smaller domains are
            reshuffled and resampled within the epoch).
        min_steps: at least this many iterations in each stage (per pair in pre-training,
            joint training), spread over its epochs; 0: no bound.
        fix_discriminator_bug: ``True``: the discriminator step updates only the
            discriminators; ``False``: also the generators ``G_i``, as the original code did.
        n_per_class: synthetic rows per emotion (a seeded sample of source rows, with
            replacement only when it exceeds them); ``None``: one per source row and emotion.
        standardize: z-score each domain with its own statistics inside the augmenter.
        device: ``"cpu"`` (deterministic), ``"cuda"`` or ``"auto"``.

    Attributes:
        classes_: ``(k,)`` the emotions, in generator order.
        history_: per-epoch dicts ``stage`` (``pretrain``/``joint``), ``epoch``, losses,
            ``lr``, ``seconds``.
        fit_summary_: seconds per stage, sizes, resolved parameters.
    """

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        name: {**COMMON, **values} for name, values in PRESETS.items()
    }

    def __init__(
        self,
        preset: str = "cpu",
        hidden_g: list[int] | tuple[int, ...] | None = None,
        hidden_d: list[int] | tuple[int, ...] | None = None,
        hidden_c: list[int] | tuple[int, ...] | None = None,
        lambda_cyc: float | None = None,
        lambda_cls: float | None = None,
        epochs: int | None = None,
        pretrain_epochs: int | None = None,
        batch_size: int | None = None,
        lr: float | None = None,
        lr_decay: float | None = None,
        lr_decay_every: int | None = None,
        dropout: float | None = None,
        dropout_cls: float | None = None,
        label_smoothing: float | None = None,
        epoch_size: str | None = None,
        min_steps: int | None = None,
        fix_discriminator_bug: bool = True,
        n_per_class: int | None = None,
        standardize: bool = True,
        device: str = "cpu",
    ) -> None:
        self.preset = preset
        self.hidden_g = hidden_g
        self.hidden_d = hidden_d
        self.hidden_c = hidden_c
        self.lambda_cyc = lambda_cyc
        self.lambda_cls = lambda_cls
        self.epochs = epochs
        self.pretrain_epochs = pretrain_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_decay = lr_decay
        self.lr_decay_every = lr_decay_every
        self.dropout = dropout
        self.dropout_cls = dropout_cls
        self.label_smoothing = label_smoothing
        self.epoch_size = epoch_size
        self.min_steps = min_steps
        self.fix_discriminator_bug = fix_discriminator_bug
        self.n_per_class = n_per_class
        self.standardize = standardize
        self.device = device

    _PRESET_KEYS = (
        "hidden_g hidden_d hidden_c lambda_cyc lambda_cls epochs pretrain_epochs batch_size lr "
        "lr_decay lr_decay_every dropout dropout_cls label_smoothing epoch_size min_steps"
    ).split()

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Tiny networks and a few epochs for the contract suite."""
        return {
            "hidden_g": [16, 8, 16],
            "hidden_d": [16],
            "hidden_c": [8],
            "epochs": 3,
            "pretrain_epochs": 2,
            "batch_size": 8,
            "min_steps": 0,
        }

    def get_params(self) -> dict[str, Any]:
        """The ``__init__`` parameters as given."""
        return {key: getattr(self, key) for key in self._init_keys()}

    @classmethod
    def _init_keys(cls) -> list[str]:
        import inspect

        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def resolved_params(self) -> dict[str, Any]:
        """The preset's values updated by the explicit (non-``None``) parameters, checked.

        Raises:
            ConfigError: an unknown preset or an out-of-range value, naming the parameter.
        """
        if self.preset not in self.presets:
            raise ConfigError(
                f"cyclegan: unknown preset {self.preset!r}; known: {', '.join(self.presets)}"
            )
        hp = dict(self.presets[self.preset])
        for key in self._PRESET_KEYS:
            value = getattr(self, key)
            if value is not None:
                hp[key] = list(value) if key.startswith("hidden_") else value
        for key in ("epochs", "batch_size", "lr_decay_every"):
            if int(hp[key]) < 1:
                raise ConfigError(f"cyclegan: {key} must be at least 1, found {hp[key]}")
        if hp["epoch_size"] not in ("min", "max"):
            raise ConfigError(
                f"cyclegan: epoch_size must be 'min' or 'max', found {hp['epoch_size']!r}"
            )
        if int(hp["min_steps"]) < 0:
            raise ConfigError(f"cyclegan: min_steps must be 0 or more, found {hp['min_steps']}")
        if int(hp["pretrain_epochs"]) < 0:
            raise ConfigError(
                f"cyclegan: pretrain_epochs must be 0 or more, found {hp['pretrain_epochs']}"
            )
        for key in ("dropout", "dropout_cls", "label_smoothing"):
            if not 0 <= float(hp[key]) < 1:
                raise ConfigError(f"cyclegan: {key} must be in [0, 1), found {hp[key]}")
        for key in ("lr", "lr_decay"):
            if float(hp[key]) <= 0:
                raise ConfigError(f"cyclegan: {key} must be positive, found {hp[key]}")
        for key in ("lambda_cyc", "lambda_cls"):
            if float(hp[key]) < 0:
                raise ConfigError(f"cyclegan: {key} must be 0 or more, found {hp[key]}")
        if len(hp["hidden_g"]) == 0:
            raise ConfigError("cyclegan: hidden_g needs at least one hidden layer size")
        if self.n_per_class is not None and self.n_per_class < 1:
            raise ConfigError(f"cyclegan: n_per_class must be at least 1, found {self.n_per_class}")
        if self.device not in ("cpu", "cuda", "auto"):
            raise ConfigError(f"cyclegan: device must be cpu, cuda or auto, found {self.device!r}")
        return hp

    def check_params(self) -> None:
        """Check the parameter values without fitting (what :meth:`resolved_params` checks).

        Raises:
            ConfigError: naming the parameter, the expected and the found value.
        """
        self.resolved_params()

    # ------------------------------------------------------------------ fit

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        X_source: np.ndarray,
        *,
        groups: np.ndarray | None = None,
        seed: int = 0,
    ) -> CycleGANAugmenter:
        """Train the CycleGANs on one fold's training rows ``X`` ``(n, dim)`` with labels
        ``y`` ``(n,)`` and the source vectors ``X_source`` ``(m, dim)``; ``groups`` unused."""
        import torch

        hp = self.resolved_params()
        X = _check(X, "X (the fold's training rows)")
        S = _check(X_source, "X_source (the source corpus)", X.shape[1])
        y = np.asarray(y).astype(str)
        if len(y) != len(X):
            raise ConfigError(f"cyclegan: {len(X)} training rows but {len(y)} labels")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 1:
            raise ConfigError("cyclegan: the training fold has no labelled rows")
        if self.standardize:
            self.target_mean_, self.target_std_ = _scaler(X)
            self.source_mean_, self.source_std_ = _scaler(S)
        else:
            dim = X.shape[1]
            self.target_mean_ = self.source_mean_ = np.zeros(dim)
            self.target_std_ = self.source_std_ = np.ones(dim)
        self.seed_ = int(seed)
        device = torch.device(
            "cuda"
            if self.device == "cuda" or (self.device == "auto" and torch.cuda.is_available())
            else "cpu"
        )
        started = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed_)
            from serkit.augment._cyclegan_train import train

            nets, history, timing = train(
                targets=[
                    ((X[y == c] - self.target_mean_) / self.target_std_) for c in self.classes_
                ],
                source=(S - self.source_mean_) / self.source_std_,
                hp=hp,
                mlp=_mlp,
                fix_discriminator_bug=self.fix_discriminator_bug,
                rng=np.random.default_rng(self.seed_),
                device=device,
            )
        self.generators_ = nets["G"]
        self.history_ = history
        counts = {str(c): int(np.sum(y == c)) for c in self.classes_}
        self.fit_summary_ = {
            "seconds": round(time.perf_counter() - started, 3),
            **{k: round(v, 3) for k, v in timing.items()},
            "n_target": int(len(X)),
            "n_target_per_class": counts,
            "n_source": int(len(S)),
            **steps(list(counts.values()), len(S), hp),
            "dim": int(X.shape[1]),
            "classes": [str(c) for c in self.classes_],
            "parameters": int(
                sum(p.numel() for group in nets.values() for m in group for p in m.parameters())
            ),
            "device": str(device),
            "fix_discriminator_bug": bool(self.fix_discriminator_bug),
            "params": {**hp, "preset": self.preset, "standardize": self.standardize},
        }
        return self

    # ------------------------------------------------------------------ generate

    def generate(self, X_source: np.ndarray) -> Synthetic:
        """One synthetic set per emotion of ``fit`` from source vectors ``(m, dim)``.

        Returns:
            :class:`Synthetic` with ``X`` ``(k, dim)`` float32 in the fold's feature scale,
            ``y`` ``(k,)`` emotions (grouped in ``classes_`` order) and ``source_index``
            ``(k,)`` rows of ``X_source``; ``k = classes * (n_per_class or m)``.
        """
        import torch

        if not hasattr(self, "generators_"):
            raise ConfigError("cyclegan: generate() before fit(); fit it on a training fold first")
        S = _check(X_source, "X_source", len(self.target_mean_))
        m = len(S)
        rng = np.random.default_rng([self.seed_, 1])
        xs, ys, idx = [], [], []
        scaled = torch.as_tensor((S - self.source_mean_) / self.source_std_, dtype=torch.float32)
        for label, G in zip(self.classes_, self.generators_, strict=True):
            if self.n_per_class is None:
                rows = np.arange(m)
            else:
                rows = rng.choice(m, size=self.n_per_class, replace=self.n_per_class > m)
            device = next(G.parameters()).device
            G.eval()
            with torch.no_grad():
                out = G(scaled[rows].to(device)).cpu().numpy().astype(np.float64)
            xs.append(out * self.target_std_ + self.target_mean_)
            ys.append(np.full(len(rows), label, dtype=object))
            idx.append(rows)
        return Synthetic(
            X=np.concatenate(xs).astype(np.float32),
            y=np.concatenate(ys).astype(str),
            source_index=np.concatenate(idx).astype(np.int64),
        )
