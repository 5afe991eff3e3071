"""Rebuild serkit's shipped default model and print its leave-one-corpus-out UAR.

The default model (``src/serkit/pretrained/default/``) is trained on RAVDESS, URDU and
TurEV-DB together, on the common classes neutral / happy / sad / angry (label set
``four_class``; TurEV-DB has no neutral class, its "calm" is not merged, so it contributes
happy / sad / angry only). Only per-utterance front ends without per-speaker normalisation are
candidates, since ``serkit predict clip.wav`` knows no speaker statistics.

Choosing, never on the corpus a figure is reported for (nested leave-one-corpus-out):

* **reported figure for corpus H**: among the two other corpora A and B, every candidate is
  scored by the mean UAR of "train on A, test on B" and "train on B, test on A"; the best one
  is refitted on A + B and tested on H. H plays no part in the choice. The UAR of H comes with
  a 95 % percentile bootstrap interval over H's speakers (1000 resamples).
* **shipped model**: the same rule one level up: every candidate is scored by its mean UAR over
  the three "train on two, test on the third" folds; the best is refitted on all three corpora.
  The nested figures above estimate how well this whole procedure transfers to an unseen
  corpus.

Run (prepare the manifests and features first, see ``--help``)::

    serkit prepare ravdess  /work/shared/data/ravdess  -o /tmp/serve_model/manifests
    serkit prepare urdu     /work/shared/data/urdu     -o /tmp/serve_model/manifests
    serkit prepare turev-db /work/shared/data/turev_db -o /tmp/serve_model/manifests
    cd /tmp/serve_model   # then, for each corpus and for egemaps and compare:
    serkit features manifests/<corpus>.parquet -e egemaps --store features
    python benchmarks/default_model.py --work /tmp/serve_model --out default_model.md

It writes the model package, ``model_card.md`` beside it (figures filled in from this run),
the Markdown table (``--out``) and its figures (``--out`` with ``.json``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPORA = {"ravdess": "RAVDESS", "urdu": "URDU", "turev-db": "TurEV-DB"}
LABEL_SET = "four_class"
CLASSES = ("neutral", "happy", "sad", "angry")


@dataclass(frozen=True)
class Candidate:
    """One a-priori fixed front end + model (no tuning inside the protocol)."""

    name: str
    extractor: str
    model: str
    params: dict[str, Any]

    def build(self) -> Any:
        from serkit.models import get_model

        return get_model(self.model, **self.params)


CANDIDATES = (
    Candidate("eGeMAPS + RBF SVM (C=1)", "egemaps", "svm", {"C": 1.0, "kernel": "rbf"}),
    Candidate("eGeMAPS + RBF SVM (C=10)", "egemaps", "svm", {"C": 10.0, "kernel": "rbf"}),
    Candidate("eGeMAPS + logistic regression (C=0.1)", "egemaps", "logreg", {"C": 0.1}),
    Candidate("ComParE 2016 + logistic regression (C=1e-4)", "compare", "logreg", {"C": 1e-4}),
    Candidate("ComParE 2016 + logistic regression (C=1e-3)", "compare", "logreg", {"C": 1e-3}),
)
# Kernel SVMs keep their support vectors: on ComParE's 6373 dimensions that is ~100 MB, too
# big to ship, so ComParE gets linear models only.


def load_data(work: Path, extractor: str) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per corpus: ``(X (n, dim), labels (n,), speakers (n,))`` on the four classes."""
    from serkit import manifest as mf
    from serkit.corpora.labels import apply_label_set
    from serkit.features import get_extractor, load

    out = {}
    for corpus in CORPORA:
        df = apply_label_set(mf.read(work / "manifests" / f"{corpus}.parquet"), LABEL_SET)
        feats = load(df, get_extractor(extractor), work / "features")
        out[corpus] = (
            np.asarray(feats.X, dtype=np.float32),
            df["label"].astype(str).to_numpy(),
            df["speaker"].astype(str).to_numpy(),
        )
    return out


def fit(candidate: Candidate, data: dict, corpora: list[str]) -> Any:
    """``candidate`` fitted on the rows of ``corpora``."""
    X = np.concatenate([data[c][0] for c in corpora])
    y = np.concatenate([data[c][1] for c in corpora])
    return candidate.build().fit(X, y)


def score(model: Any, data: dict, corpus: str, *, interval: bool = False) -> dict[str, Any]:
    """UAR (and with ``interval`` the speaker-bootstrap 95 % interval) on ``corpus``."""
    from serkit.metrics import bootstrap_ci, uar

    X, y, speakers = data[corpus]
    pred = model.predict(X)
    out: dict[str, Any] = {"uar": uar(y, pred, list(CLASSES)), "n": len(y)}
    if interval:
        index = {c: i for i, c in enumerate(CLASSES)}
        codes = np.array([index[t] * len(CLASSES) + index[p] for t, p in zip(y, pred, strict=True)])
        out["ci"] = bootstrap_ci(codes, len(CLASSES), clusters=speakers, reps=1000)["uar"]
        out["speakers"] = len(set(speakers))
    return out


def evaluate(work: Path, log) -> dict[str, Any]:
    """Every fit the nested protocol needs, once; returns the figures."""
    cache: dict[str, dict] = {}
    pair: dict[tuple[str, str, str], float] = {}  # (candidate, train, test) -> UAR
    loco: dict[tuple[str, str], dict] = {}  # (candidate, held-out) -> score with interval
    for cand in CANDIDATES:
        if cand.extractor not in cache:
            cache[cand.extractor] = load_data(work, cand.extractor)
        data = cache[cand.extractor]
        for train in CORPORA:
            started = time.time()
            model = fit(cand, data, [train])
            for test in CORPORA:
                if test != train:
                    pair[cand.name, train, test] = score(model, data, test)["uar"]
            log(f"{cand.name}: trained on {train} ({time.time() - started:.0f} s)")
        for held in CORPORA:
            started = time.time()
            model = fit(cand, data, [c for c in CORPORA if c != held])
            loco[cand.name, held] = score(model, data, held, interval=True)
            log(
                f"{cand.name}: held out {held}: UAR {loco[cand.name, held]['uar']:.3f} "
                f"({time.time() - started:.0f} s)"
            )
    return {
        "pairs": {f"{c} | {tr} -> {te}": v for (c, tr, te), v in pair.items()},
        "loco": {f"{c} | {h}": v for (c, h), v in loco.items()},
        **choose(pair, loco, [c.name for c in CANDIDATES], list(CORPORA)),
    }


def choose(
    pair: dict[tuple[str, str, str], float],
    loco: dict[tuple[str, str], dict],
    candidates: list[str],
    corpora: list[str],
) -> dict[str, Any]:
    """The nested choice (module docstring): per held-out corpus, the candidate with the best
    mean single-corpus transfer UAR between the *other* corpora (``pair[c, train, test]``),
    reported with its ``loco[c, held]`` score; and the shipped candidate, the best mean of
    ``loco`` over all corpora. Ties go to the earlier candidate."""
    nested = {}
    for held in corpora:
        a, b = [c for c in corpora if c != held]
        inner = {c: (pair[c, a, b] + pair[c, b, a]) / 2 for c in candidates}
        chosen = max(candidates, key=lambda c: inner[c])
        nested[held] = {"inner": inner, "chosen": chosen, **loco[chosen, held]}
    outer = {c: float(np.mean([loco[c, h]["uar"] for h in corpora])) for c in candidates}
    return {"nested": nested, "outer_mean": outer, "shipped": max(candidates, key=outer.get)}


def pct(value: float) -> str:
    return f"{100 * value:.1f}"


def table(figures: dict[str, Any]) -> str:
    """The Markdown table of the nested figures (and, for information, every candidate)."""
    from _report import md_table

    rows = []
    for held, row in figures["nested"].items():
        low, high = row["ci"]
        rows.append(
            (
                CORPORA[held],
                row["n"],
                row["speakers"],
                row["chosen"],
                f"{pct(row['uar'])} [{pct(low)}, {pct(high)}]",
            )
        )
    nested = md_table(
        ("held-out corpus", "rows", "speakers", "chosen on the other two", "UAR % [95 % CI]"), rows
    )
    every = md_table(
        ("candidate", *[f"{CORPORA[h]} UAR %" for h in CORPORA], "mean"),
        [
            (
                c.name,
                *[pct(figures["loco"][f"{c.name} | {h}"]["uar"]) for h in CORPORA],
                pct(figures["outer_mean"][c.name]),
            )
            for c in CANDIDATES
        ],
    )
    return (
        "Default model, nested leave-one-corpus-out on neutral/happy/sad/angry (the candidate "
        "for each held-out corpus chosen on the other two corpora only; speaker-bootstrap "
        "95 % intervals):\n\n"
        f"{nested}\n\n"
        "Every candidate, train on two corpora and test on the third (this is what chose the "
        f"shipped model, **{figures['shipped']}**, refitted on all three):\n\n{every}\n"
    )


def write_card(path: Path, figures: dict[str, Any], sizes: dict[str, int]) -> None:
    """The model card with this run's figures."""
    from _report import md_table
    from serkit.atomic import atomic_write_text

    rows = []
    for held, row in figures["nested"].items():
        low, high = row["ci"]
        rows.append((CORPORA[held], row["chosen"], f"{pct(row['uar'])} [{pct(low)}, {pct(high)}]"))
    text = CARD.format(
        shipped=figures["shipped"],
        sizes=", ".join(f"{CORPORA[c]} {n}" for c, n in sizes.items()),
        total=sum(sizes.values()),
        nested=md_table(("held-out corpus", "chosen on the other two", "UAR % [95 % CI]"), rows),
        candidates="\n".join(f"- {c.name}" for c in CANDIDATES),
    )
    atomic_write_text(path, text)


CARD = """# serkit default model

**{shipped}**, trained on RAVDESS + URDU + TurEV-DB ({total} utterances: {sizes}) on four
classes: neutral, happy, sad, angry. Per utterance, no per-speaker normalisation (it needs no
speaker statistics), no voice-activity trimming inside the front end. Rebuilt by
`python benchmarks/default_model.py` (serkit repository).

## Licence: non-commercial research only

The model is derived from its training corpora, whose terms forbid commercial use:

| corpus | language | licence |
|---|---|---|
| RAVDESS (Livingstone & Russo 2018) | English (North American) | CC BY-NC-SA 4.0 |
| URDU (Latif et al. 2018) | Urdu | "for research purposes only" |
| TurEV-DB (Canpolat et al. 2020) | Turkish | CC BY-NC-ND 4.0 |

Use it for non-commercial research and for trying serkit out. Do not use it in a product;
train your own model on data you may use commercially (`serkit train`).

## Protocol

Candidates (fixed in advance, no tuning):

{candidates}

Nested leave-one-corpus-out: for each held-out corpus, the candidate is chosen by the mean UAR
of training on one of the two other corpora and testing on the other (both ways), refitted on
both and tested on the held-out corpus, which plays no part in the choice. The shipped model
is chosen by the same rule over all three corpora (mean UAR of the three train-on-two,
test-on-the-third folds) and refitted on all three. UAR = unweighted average recall over the
classes present in the test corpus; 95 % percentile bootstrap intervals over test speakers.

{nested}

## Known limits

- Acted speech only (actors reading fixed sentences or words): expect lower accuracy on
  spontaneous, conversational speech.
- Three languages (English, Urdu, Turkish); other languages and accents are untested.
- Four classes; anything else (fear, disgust, surprise, calm, ...) is mapped to one of them.
  TurEV-DB has no neutral class ("calm" is not merged), so neutral is learnt from RAVDESS and
  URDU only.
- Cross-corpus transfer is weak (see the figures): treat the output as a rough cue, not a
  measurement. Short clips (about 1-5 s of speech) match the training data best; for long
  audio use `serkit predict --segment vad`.
"""


def _parser() -> argparse.ArgumentParser:
    from _report import add_out_option

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work",
        type=Path,
        default=Path("/tmp/serve_model"),
        help="folder with manifests/<corpus>.parquet and the feature store features/",
    )
    parser.add_argument(
        "--model-out",
        type=Path,
        default=ROOT / "src" / "serkit" / "pretrained" / "default",
        help="where the model package goes (model_card.md goes beside it)",
    )
    add_out_option(parser, "default_model.md")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Evaluate, choose, refit and write the package, the card and the table."""
    from _report import write_table

    args = _parser().parse_args(argv)

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    from serkit.features import get_extractor
    from serkit.features.frontend import Frontend
    from serkit.models.package import save_model

    figures = evaluate(args.work, log)
    chosen = next(c for c in CANDIDATES if c.name == figures["shipped"])
    data = load_data(args.work, chosen.extractor)
    model = fit(chosen, data, list(CORPORA))
    frontend = Frontend(get_extractor(chosen.extractor))
    save_model(
        model,
        args.model_out,
        extra={
            "frontend": frontend.to_dict(),
            "label_set": LABEL_SET,
            "classes": [str(c) for c in model.classes_],
            "experiment": "serkit-default",
            "candidate": chosen.name,
            "trained_on": list(CORPORA),
        },
    )
    sizes = {c: int(len(data[c][1])) for c in CORPORA}
    figures["sizes"] = sizes
    write_card(args.model_out.parent / "model_card.md", figures, sizes)
    text = table(figures)
    print(text)
    write_table(args.out, text, figures)
    log(f"wrote {args.model_out} and {args.model_out.parent / 'model_card.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
