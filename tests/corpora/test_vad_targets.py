"""Binary V/A/D targets: corpus ratings (binarised as RH-emo) or derived from the emotion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from serkit import manifest
from serkit.corpora import iemocap
from serkit.corpora import vad_targets as V
from serkit.corpora.labels import CANONICAL
from serkit.errors import ConfigError

from .test_iemocap import _tree

NAN = float("nan")


def _rows(corpus, emotion, v=NAN, a=NAN, d=NAN):
    return {"corpus": corpus, "emotion": emotion, "valence": v, "arousal": a, "dominance": d}


def test_the_iemocap_recipes_ratings_reach_the_manifest_and_become_corpus_targets(tmp_path):
    df = iemocap.prepare(_tree(tmp_path))
    manifest.write(df, tmp_path / "iemocap.parquet")
    back = manifest.read(tmp_path / "iemocap.parquet")
    assert {"valence", "arousal", "dominance"} <= set(back.columns)
    rows = V.annotate(back).set_index("id")
    assert set(rows[V.SOURCE_COLUMN]) == {"corpus"}
    targets = V.binary_targets(back).set_axis(back["id"])
    # [V, A, D] ratings of the fake EmoEvaluation files: 2.5 is not above 2.5
    assert targets.loc["iemocap/Ses01F_impro01_F000"].tolist() == [0.0, 0.0, 0.0]
    assert targets.loc["iemocap/Ses01F_impro01_M001"].tolist() == [1.0, 1.0, 1.0]
    assert targets.loc["iemocap/Ses02M_script01_1_F000"].tolist() == [0.0, 1.0, 1.0]


def test_vad_source_is_a_manifest_column_kept_as_text(tmp_path):
    df = V.annotate(pd.DataFrame([_rows("urdu", "angry"), _rows("urdu", "neutral")]))
    rows = manifest.new(
        [
            {
                "id": f"urdu/{i}",
                "corpus": "urdu",
                "path": f"{i}.wav",
                "duration": 1.0,
                "speaker": "urdu/s",
                "emotion": e,
                "raw_emotion": e,
                "vad_source": s,
            }
            for i, (e, s) in enumerate(zip(df["emotion"], df[V.SOURCE_COLUMN], strict=True))
        ]
    )
    assert str(rows["vad_source"].dtype) == "string"
    assert rows["vad_source"].tolist()[0] == "derived" and rows["vad_source"].isna().iloc[1]


def test_corpus_ratings_win_over_the_emotion_and_missing_ratings_stay_missing():
    rows = pd.DataFrame([_rows("iemocap", "angry", v=4.0, a=NAN, d=1.0)])
    assert V.annotate(rows)[V.SOURCE_COLUMN].tolist() == ["corpus"]
    out = V.binary_targets(rows).iloc[0].tolist()
    assert out[0] == 1.0 and np.isnan(out[1]) and out[2] == 0.0  # not angry's (0, 1, 1)


@pytest.mark.parametrize("scale", [(1.0, 7.0), (0.0, 1.0), (-1.0, 1.0), (1.0, 9.0)])
def test_binarising_does_not_depend_on_a_linear_rescaling_of_the_ratings(scale):
    ratings = np.linspace(1.0, 5.0, 41)
    lo, hi = scale
    rescaled = lo + (ratings - 1.0) / 4.0 * (hi - lo)
    np.testing.assert_array_equal(V.binarise(ratings), V.binarise(rescaled, scale))
    assert V.binarise(np.array([2.5]))[0] == 0.0 and V.binarise(np.array([2.6]))[0] == 1.0


def test_a_corpus_of_unknown_scale_outside_1_5_is_refused_by_name():
    rows = pd.DataFrame([_rows("mycorpus", "sad", v=7.0, a=2.0, d=2.0)])
    with pytest.raises(ConfigError, match="'mycorpus'.*scales="):
        V.binary_targets(rows)
    out = V.binary_targets(rows, scales={"mycorpus": (1.0, 9.0)})
    assert out.iloc[0].tolist() == [1.0, 0.0, 0.0]  # threshold 4.0 on 1-9


def test_derived_signs_are_the_signs_of_the_cited_means():
    assert set(V.TERMS) | set(V.UNMAPPED) == set(CANONICAL)
    assert not set(V.TERMS) & set(V.UNMAPPED)
    for emotion, term in V.TERMS.items():
        for mean, sign in zip(V.PAD_MEANS[term], V.PAD_SIGNS[emotion], strict=True):
            if abs(mean) <= V.DEAD_ZONE:
                assert np.isnan(sign), (emotion, mean)
            else:
                assert sign == float(mean > 0), (emotion, mean)
    # what any reading of Russell & Mehrabian (1977) says about the common classes
    assert V.PAD_SIGNS["happy"] == (1.0, 1.0, 1.0)
    assert V.PAD_SIGNS["sad"] == (0.0, 0.0, 0.0)
    assert V.PAD_SIGNS["angry"] == (0.0, 1.0, 1.0)
    assert V.PAD_SIGNS["fearful"] == (0.0, 1.0, 0.0)


def test_unmapped_emotions_get_no_targets_and_no_source():
    rows = pd.DataFrame([_rows("urdu", e) for e in V.UNMAPPED] + [_rows("urdu", pd.NA)])
    annotated = V.annotate(rows)
    assert annotated[V.SOURCE_COLUMN].isna().all()
    assert V.binary_targets(rows).isna().all().all()
    assert V.source_counts(annotated) == {"corpus": 0, "derived": 0, "none": len(rows)}


def test_calm_has_valence_and_arousal_but_no_dominance():
    out = V.binary_targets(pd.DataFrame([_rows("turev-db", "calm")])).iloc[0].tolist()
    assert out[:2] == [1.0, 0.0] and np.isnan(out[2])
