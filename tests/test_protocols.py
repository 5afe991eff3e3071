"""Protocol contract suite over every registered protocol, plus certify and validation splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from serkit.errors import ConfigError, ProtocolError
from serkit.protocols import (
    SPEAKER_DEPENDENT,
    Fold,
    certify,
    get_protocol,
    list_protocols,
    speaker_disjoint_validation,
)

LABELS = ("angry", "happy", "sad", "neutral")


def synthetic_manifest(seed: int = 0) -> pd.DataFrame:
    """Two corpora, 8 speakers each with 2 sessions... 12 rows per speaker, 4 labels, splits."""
    rng = np.random.default_rng(seed)
    rows = []
    for corpus in ("ca", "cb"):
        for s in range(6):
            speaker = f"{corpus}/s{s}"
            for i in range(12):
                rows.append(
                    {
                        "id": f"{corpus}/s{s}_{i}",
                        "corpus": corpus,
                        "path": f"s{s}/{i}.wav",
                        "duration": 1.0 + rng.random(),
                        "speaker": speaker,
                        "emotion": LABELS[i % 4],
                        "raw_emotion": LABELS[i % 4],
                        "session": f"{corpus}/sess{s // 2}",
                        "text_id": f"t{i % 3}",
                        "split": ["train", "train", "train", "train", "dev", "test"][s],
                    }
                )
    df = pd.DataFrame(rows)
    df["label"] = df["emotion"]
    return df


PARAMS = {
    "cross-corpus": {"train": ["ca"], "test": ["cb"]},
    "speaker-kfold": {"k": 3, "seed": 1},
    SPEAKER_DEPENDENT: {"k": 3, "seed": 1},
}


def build(name: str):
    return get_protocol(name, allow_speaker_dependent=True, **PARAMS.get(name, {}))


@pytest.mark.parametrize("name", list_protocols())
def test_contract(name):
    df = synthetic_manifest()
    protocol = build(name)
    folds = protocol.split(df)
    assert folds, name
    counts = np.zeros(len(df), dtype=int)
    for fold in folds:
        assert isinstance(fold, Fold)
        assert fold.train.dtype == np.int64 and fold.test.dtype == np.int64
        assert len(np.intersect1d(fold.train, fold.test)) == 0
        train_speakers = set(df["speaker"].iloc[fold.train])
        test_speakers = set(df["speaker"].iloc[fold.test])
        if protocol.speaker_independent:
            assert not train_speakers & test_speakers, fold.name
        np.add.at(counts, fold.test, 1)
    assert counts.max() == 1
    if protocol.exhaustive:
        assert counts.min() == 1
    disjoint = ("speaker",) if protocol.speaker_independent else ()
    cert = certify(df, folds, disjoint, complete=protocol.exhaustive, protocol=name)
    assert cert.n_folds == len(folds)
    assert name in cert.statement()
    # deterministic
    again = build(name).split(synthetic_manifest())
    assert [f.name for f in again] == [f.name for f in folds]
    for a, b in zip(again, folds, strict=True):
        np.testing.assert_array_equal(a.train, b.train)
        np.testing.assert_array_equal(a.test, b.test)


@pytest.mark.parametrize("name", list_protocols())
def test_certify_catches_injected_leak(name):
    df = synthetic_manifest()
    folds = build(name).split(df)
    fold = folds[0]
    leaked = int(fold.test[0])
    bad = Fold(fold.name, np.append(fold.train, leaked), fold.test)
    with pytest.raises(ProtocolError, match=str(df["id"].iloc[leaked])):
        certify(df, [bad, *folds[1:]], ("speaker",))


def test_certify_names_the_leaking_speaker():
    df = synthetic_manifest()
    folds = get_protocol("loso").split(df)
    fold = folds[0]
    # move one row of another speaker (still in train) into test
    other = int(fold.train[0])
    bad = Fold(fold.name, fold.train, np.append(fold.test, other))
    with pytest.raises(ProtocolError, match=str(df["speaker"].iloc[other])):
        certify(df, [bad], ("speaker",))


def test_certify_text_disjointness():
    df = synthetic_manifest()
    folds = get_protocol("loso").split(df)
    certify(df, folds, ("speaker",))
    with pytest.raises(ProtocolError, match="text"):
        certify(df, folds, ("speaker", "text"))


def test_certify_test_row_twice_and_never():
    df = synthetic_manifest()
    folds = get_protocol("loso").split(df)
    dup = [*folds, Fold("dup", folds[0].train, folds[0].test)]
    with pytest.raises(ProtocolError, match="more than one fold"):
        certify(df, dup, ())
    with pytest.raises(ProtocolError, match="never a test row"):
        certify(df, folds[:-1], ("speaker",), complete=True)


def test_speaker_dependent_refused_by_default():
    with pytest.raises(ConfigError, match="allow_speaker_dependent"):
        get_protocol("speaker-dependent")
    folds = get_protocol("speaker-dependent", allow_speaker_dependent=True, k=3).split(
        synthetic_manifest()
    )
    with pytest.raises(ProtocolError):
        certify(synthetic_manifest(), folds, ("speaker",))


def test_unknown_param_and_missing_column():
    with pytest.raises(ConfigError, match="no parameter"):
        get_protocol("loso", k=3)
    df = synthetic_manifest().drop(columns=["session"])
    with pytest.raises(ConfigError, match="session"):
        get_protocol("loso-session").split(df)


def test_official_validation_and_names():
    df = synthetic_manifest()
    (fold,) = get_protocol("official").split(df)
    assert set(df["split"].iloc[fold.val]) == {"dev"}
    assert set(df["split"].iloc[fold.test]) == {"test"}
    (fold,) = get_protocol("official", val=[], test=["dev", "test"]).split(df)
    assert fold.val is None and set(df["split"].iloc[fold.test]) == {"dev", "test"}


def test_speaker_kfold_seeded_and_stratified():
    df = synthetic_manifest()
    a = get_protocol("speaker-kfold", k=3, seed=0).split(df)
    b = get_protocol("speaker-kfold", k=3, seed=5).split(df)
    assert any(not np.array_equal(x.test, y.test) for x, y in zip(a, b, strict=True))
    for fold in a:
        assert set(df["label"].iloc[fold.test]) == set(LABELS)
    with pytest.raises(ProtocolError, match="k"):
        get_protocol("speaker-kfold", k=50).split(df)


def test_speaker_disjoint_validation():
    df = synthetic_manifest()
    train, val = speaker_disjoint_validation(df, 0.2, seed=3)
    assert len(train) + len(val) == len(df)
    assert not set(df["speaker"].iloc[train]) & set(df["speaker"].iloc[val])
    assert len(val) >= 0.2 * len(df)
    again = speaker_disjoint_validation(df["speaker"].to_numpy(), 0.2, seed=3)
    np.testing.assert_array_equal(again[1], val)
    with pytest.raises(ProtocolError):
        speaker_disjoint_validation(df[df["speaker"] == "ca/s0"], 0.2, 0)
