"""The options of :func:`~serkit.models.training.train_module`: their rules
(:func:`check_options`) and the optimizer and LR schedule they name
(:func:`make_optimizer`, :func:`make_scheduler`).
"""

from __future__ import annotations

from typing import Any

import torch

from serkit.errors import ConfigError


def make_optimizer(name: str, params: Any, lr: float, weight_decay: float):
    """The torch optimizer ``name`` (``"adamw"``, ``"adam"``, ``"sgd"``) over ``params``."""
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, weight_decay=weight_decay, momentum=0.9, nesterov=True
        )
    raise ConfigError(f"unknown optimizer {name!r}; expected 'adamw', 'adam' or 'sgd'")


def make_scheduler(name: str, optimizer: Any, epochs: int, patience: int | None):
    """The LR schedule ``name`` of ``optimizer`` (``None`` for ``"none"``)."""
    if name == "plateau":
        wait = max(1, (patience or 4) // 2)
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=0.5, patience=wait
        )
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs))
    if name in ("none", None):
        return None
    raise ConfigError(f"unknown scheduler {name!r}; expected 'plateau', 'cosine' or 'none'")


OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULERS = ("plateau", "cosine", "none")


def check_options(
    *,
    epochs: int,
    lr: float,
    weight_decay: float,
    batch_size: int,
    optimizer: str = "adamw",
    scheduler: str | None = "plateau",
    patience: int | None = None,
    grad_clip: float | None = None,
    prefix: str = "",
) -> None:
    """Check the options of :func:`train_module` before any work (estimators call it from
    their ``check_params``, so a bad value is found when the config is validated).

    Args:
        prefix: how the caller's parameters are named in messages, e.g. ``"stage1_"``
            (``stage1_lr=-1``).

    Raises:
        ConfigError: naming the option, the rule and the value found.
    """
    rules = [
        ("epochs", epochs, epochs >= 0, ">= 0 (0: train nothing)"),
        ("lr", lr, lr > 0, "> 0"),
        ("weight_decay", weight_decay, weight_decay >= 0, ">= 0"),
        ("batch_size", batch_size, int(batch_size) >= 1, ">= 1"),
        ("patience", patience, patience is None or patience >= 1, ">= 1 or null (never stop)"),
        ("grad_clip", grad_clip, grad_clip is None or grad_clip > 0, "> 0 or null (no clip)"),
    ]
    problems = [
        f"{prefix}{name} must be {rule}, found {prefix}{name}={value}"
        for name, value, ok, rule in rules
        if not ok
    ]
    if optimizer not in OPTIMIZERS:
        problems.append(f"unknown optimizer {optimizer!r}; expected one of {', '.join(OPTIMIZERS)}")
    if scheduler is not None and scheduler not in SCHEDULERS:
        problems.append(f"unknown scheduler {scheduler!r}; expected one of {', '.join(SCHEDULERS)}")
    if problems:
        raise ConfigError("; ".join(problems))
