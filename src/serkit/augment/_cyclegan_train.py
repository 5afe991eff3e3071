"""The training loop of :mod:`serkit.augment.cyclegan`: pre-training, then the joint schedule.

Inputs are already scaled; the caller seeds torch (inside ``fork_rng``) and passes a numpy
``rng`` for the batch order, so the loop itself holds no global state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from serkit.augment import losses


class _Batches:
    """Per-epoch shuffled batches of one domain ``(n, dim)`` (batch ``min(size, n)``).

    Batch ``j`` of an epoch is rows ``j * size ... (j + 1) * size`` of the epoch's permutation;
    past the end of the domain a fresh permutation is appended (the smaller domains are
    resampled when an epoch is longer than they are).
    """

    def __init__(self, data: Any, size: int, rng: np.random.Generator) -> None:
        self.data, self.rng = data, rng
        self.size = min(size, len(data))
        self.order = np.arange(len(data))

    def shuffle(self) -> None:
        self.order = self.rng.permutation(len(self.data))

    def batch(self, j: int) -> Any:
        import torch

        while len(self.order) < (j + 1) * self.size:
            self.order = np.concatenate([self.order, self.rng.permutation(len(self.data))])
        rows = self.order[j * self.size : (j + 1) * self.size]
        return self.data[torch.as_tensor(rows, device=self.data.device)]


def iterations_per_epoch(
    sizes: list[int], batch_size: int, epoch_size: str, epochs: int, min_steps: int
) -> int:
    """Iterations per epoch for domains of ``sizes`` rows.

    Args:
        sizes: rows per domain.
        batch_size: the batch per domain (a domain smaller than it gives its whole set).
        epoch_size: ``"min"``: the smallest ``n // batch`` (the original); ``"max"``: the
            largest (the smaller domains are resampled).
        epochs: epochs of the stage.
        min_steps: at least ``ceil(min_steps / epochs)`` iterations per epoch (0: no bound).

    Returns:
        Iterations per epoch, at least 1.
    """
    per = [n // min(batch_size, n) for n in sizes]
    base = min(per) if epoch_size == "min" else max(per)
    return max(1, base, -(-int(min_steps) // max(1, int(epochs))))


def _iterations(domains: list[_Batches], hp: dict[str, Any], epochs: int) -> int:
    return iterations_per_epoch(
        [len(d.data) for d in domains],
        int(hp["batch_size"]),
        str(hp.get("epoch_size", "min")),
        epochs,
        int(hp.get("min_steps", 0)),
    )


def train(
    *,
    targets: list[np.ndarray],
    source: np.ndarray,
    hp: dict[str, Any],
    mlp: Callable[[list[int], float], Any],
    fix_discriminator_bug: bool,
    rng: np.random.Generator,
    device: Any,
) -> tuple[dict[str, list[Any]], list[dict[str, Any]], dict[str, float]]:
    """Pre-train the generator pairs, then train the CycleGANs and the shared classifier.

    Args:
        targets: per emotion ``(n_i, dim)`` scaled target vectors.
        source: ``(m, dim)`` scaled source vectors.
        hp: resolved parameters (see :class:`~serkit.augment.cyclegan.CycleGANAugmenter`).
        mlp: builds an MLP from layer sizes and a dropout rate.
        fix_discriminator_bug: keep the generators out of the discriminator optimiser.
        rng: batch order.
        device: torch device.

    Returns:
        ``(nets, history, timing)``: nets ``{"G", "F", "DT", "DS", "C"}`` (lists of modules;
        ``C`` a one-element list), per-epoch history dicts, seconds per stage.
    """
    import torch

    k, dim = len(targets), source.shape[1]
    hg, drop = [int(h) for h in hp["hidden_g"]], float(hp["dropout"])
    nets = {
        "G": [mlp([dim, *hg, dim], drop) for _ in range(k)],
        "F": [mlp([dim, *hg[::-1], dim], drop) for _ in range(k)],
        "DT": [mlp([dim, *hp["hidden_d"], 1], drop) for _ in range(k)],
        "DS": [mlp([dim, *hp["hidden_d"], 1], drop) for _ in range(k)],
        "C": [mlp([dim, *hp["hidden_c"], k], float(hp["dropout_cls"]))],
    }
    for group in nets.values():
        for net in group:
            net.to(device).train()
    S = torch.as_tensor(source, dtype=torch.float32, device=device)
    T = [torch.as_tensor(t, dtype=torch.float32, device=device) for t in targets]
    size = int(hp["batch_size"])
    src = [_Batches(S, size, rng) for _ in range(k)]  # one independent source stream each
    tgt = [_Batches(t, size, rng) for t in T]
    history: list[dict[str, Any]] = []
    timing = {"pretrain_seconds": 0.0, "joint_seconds": 0.0}

    started = time.perf_counter()
    _pretrain(nets, src, tgt, hp, history)
    timing["pretrain_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    _joint(nets, src, tgt, hp, fix_discriminator_bug, history)
    timing["joint_seconds"] = time.perf_counter() - started
    for group in nets.values():
        for net in group:
            net.eval()
    return nets, history, timing


def _pretrain(nets: dict, src: list, tgt: list, hp: dict, history: list) -> None:
    """Each ``(G_i, F_i)`` as two stacked autoencoders: ``MSE(S, F(G(S))) + MSE(T, G(F(T)))``."""
    import torch

    epochs = int(hp["pretrain_epochs"])
    if epochs == 0:
        return
    opts = [
        torch.optim.Adam([*G.parameters(), *F.parameters()], lr=float(hp["lr"]))
        for G, F in zip(nets["G"], nets["F"], strict=True)
    ]
    for epoch in range(1, epochs + 1):
        started, total, steps = time.perf_counter(), 0.0, 0
        for i, (G, F, opt) in enumerate(zip(nets["G"], nets["F"], opts, strict=True)):
            src[i].shuffle()
            tgt[i].shuffle()
            for j in range(_iterations([src[i], tgt[i]], hp, epochs)):
                a, b = src[i].batch(j), tgt[i].batch(j)
                loss = losses.cycle_loss(a, F(G(a)), b, G(F(b)))
                opt.zero_grad()
                loss.backward()
                opt.step()
                total, steps = total + loss.item(), steps + 1
        history.append(
            {
                "stage": "pretrain",
                "epoch": epoch,
                "cycle_loss": total / steps,
                "lr": float(hp["lr"]),
                "seconds": round(time.perf_counter() - started, 4),
            }
        )


def discriminator_parameters(nets: dict[str, list[Any]], fix_discriminator_bug: bool) -> list:
    """What the discriminator optimiser updates: the discriminators, plus (the original's bug,
    ``fix_discriminator_bug=False``) the generators ``G_i``."""
    params = [p for group in (nets["DT"], nets["DS"]) for net in group for p in net.parameters()]
    if not fix_discriminator_bug:  # the original: the D optimiser also held the encoders G_i
        params += [p for net in nets["G"] for p in net.parameters()]
    return params


def _joint(
    nets: dict, src: list, tgt: list, hp: dict, fix_discriminator_bug: bool, history: list
) -> None:
    """The joint schedule: per iteration one discriminator step, then two generator steps."""
    import torch

    G, F, DT, DS = nets["G"], nets["F"], nets["DT"], nets["DS"]
    C = nets["C"][0]
    k = len(G)
    real = 1.0 - float(hp["label_smoothing"])
    lam_cyc, lam_cls = float(hp["lambda_cyc"]), float(hp["lambda_cls"])
    d_params = discriminator_parameters(nets, fix_discriminator_bug)
    g_params = [p for group in (G, F) for net in group for p in net.parameters()]
    g_params += list(C.parameters())
    lr = float(hp["lr"])
    opt_d, opt_g = torch.optim.Adam(d_params, lr=lr), torch.optim.Adam(g_params, lr=lr)
    step = int(hp["lr_decay_every"])
    scheds = [
        torch.optim.lr_scheduler.StepLR(opt, step_size=step, gamma=float(hp["lr_decay"]))
        for opt in (opt_d, opt_g)
    ]
    iterations = _iterations(src + tgt, hp, int(hp["epochs"]))
    for epoch in range(1, int(hp["epochs"]) + 1):
        started = time.perf_counter()
        sums = dict.fromkeys(("d_loss", "g_loss", "adv_loss", "cycle_loss", "cls_loss"), 0.0)
        correct = seen = 0
        for domain in src + tgt:
            domain.shuffle()
        for j in range(iterations):
            a = [s.batch(j) for s in src]
            b = [t.batch(j) for t in tgt]
            # --- discriminator step
            d_loss = 0.0
            for i in range(k):
                if fix_discriminator_bug:
                    with torch.no_grad():
                        fake_t, fake_s = G[i](a[i]), F[i](b[i])
                else:
                    fake_t, fake_s = G[i](a[i]), F[i](b[i]).detach()
                d_loss = (
                    d_loss
                    + losses.discriminator_loss(DT[i](b[i]), DT[i](fake_t), real_label=real)
                    + losses.discriminator_loss(DS[i](a[i]), DS[i](fake_s), real_label=real)
                )
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            sums["d_loss"] += d_loss.item() / iterations
            # --- two generator steps on the same batches
            for _ in range(2):
                gan = cyc = 0.0
                fakes = []
                for i in range(k):
                    fake_t, fake_s = G[i](a[i]), F[i](b[i])
                    cycle = losses.cycle_loss(a[i], F[i](fake_t), b[i], G[i](fake_s))
                    gan = gan + losses.generator_loss(
                        DT[i](fake_t), DS[i](fake_s), cycle, lambda_cyc=lam_cyc, real_label=real
                    )
                    cyc = cyc + cycle.item()
                    fakes.append(fake_t)
                labels = torch.cat(
                    [
                        torch.full((len(f),), i, dtype=torch.long, device=f.device)
                        for i, f in enumerate(fakes)
                    ]
                )
                logits = C(torch.cat(fakes))
                cls = losses.classification_loss(logits, labels)
                g_loss = gan + lam_cls * cls
                opt_g.zero_grad()
                g_loss.backward()
                opt_g.step()
                adv = gan.item() - lam_cyc * cyc
                for key, value in (
                    ("g_loss", g_loss.item()),
                    ("adv_loss", adv),
                    ("cls_loss", cls.item()),
                ):
                    sums[key] += value / (2 * iterations)
                sums["cycle_loss"] += cyc / (2 * iterations * k)
                correct += int((logits.argmax(1) == labels).sum())
                seen += len(labels)
        history.append(
            {
                "stage": "joint",
                "epoch": epoch,
                **{key: round(value, 6) for key, value in sums.items()},
                "cls_acc": round(correct / seen, 4),
                "lr": opt_g.param_groups[0]["lr"],
                "seconds": round(time.perf_counter() - started, 4),
            }
        )
        for sched in scheds:
            sched.step()
