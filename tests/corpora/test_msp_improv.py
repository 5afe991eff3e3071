"""MSP-IMPROV recipe on a fake release tree."""

from __future__ import annotations

import pandas as pd
import pytest

from serkit.corpora import get_recipe, msp_improv
from serkit.errors import CorpusError

from ._fake import make_tree, roundtrip, write_garbage, write_text

EVALUATION = """UTD-IMPROV-S01A-F01-S-FM01.avi; A; A:4.200000; V:1.800000; D:3.600000 ; N:3.000000;
rater1; Angry; Frustrated; A:4.0; V:2.0; D:4.0; N:3.0;
rater2; Angry; (); A:4.0; V:2.0; D:3.0; N:3.0;
rater3; Neutral; (); A:4.0; V:2.0; D:3.0; N:3.0;
rater4; Angry; (); A:4.0; V:2.0; D:3.0; N:3.0;

UTD-IMPROV-S02H-M03-R-MF03.avi; H; A:3.000000; V:4.500000; D:3.000000 ; N:4.000000;
rater1; Happy; (); A:3.0; V:4.0; D:3.0; N:4.0;

UTD-IMPROV-S03S-F06-P-FM06.avi; X; A:2.000000; V:2.000000; D:2.000000;
rater1; Sad; (); A:2.0; V:2.0; D:2.0; N:2.0;
rater2; Neutral; (); A:2.0; V:2.0; D:2.0; N:2.0;

UTD-IMPROV-S20N-M06-T-MF06.avi; N; A:2.500000; V:3.000000; D:2.500000 ; N:4.500000;
"""
FILES = [
    "Audio/session1/S01A/S/MSP-IMPROV-S01A-F01-S-FM01.wav",
    "Audio/session3/S02H/R/MSP-IMPROV-S02H-M03-R-MF03.wav",
    "Audio/session6/S03S/P/MSP-IMPROV-S03S-F06-P-FM06.flac",
    "Audio/session6/S20N/T/MSP-IMPROV-S20N-M06-T-MF06.wav",
]


def _tree(root):
    make_tree(root, FILES)
    write_text(root / "Evaluation.txt", EVALUATION)
    make_tree(root, ["Audio/session1/S01A/S/MSP-IMPROV-S01A-F01-S-FM02.wav"])  # no label
    make_tree(root, ["Audio/session1/S01A/S/MSP-IMPROV-S01A-F09-S-FM01.wav"])  # bad speaker
    write_text(root / "Video/session1/S01A/S/MSP-IMPROV-S01A-F01-S-FM01.avi", "video")
    write_text(root / "Audio/session1/notes.doc", "x")
    return root


def test_msp_improv_fake_tree(tmp_path):
    df = msp_improv.prepare(_tree(tmp_path))
    roundtrip(df, tmp_path / "out")
    rows = df.set_index("id")
    assert list(rows.index) == [
        "msp-improv/MSP-IMPROV-S01A-F01-S-FM01",
        "msp-improv/MSP-IMPROV-S02H-M03-R-MF03",
        "msp-improv/MSP-IMPROV-S03S-F06-P-FM06",
        "msp-improv/MSP-IMPROV-S20N-M06-T-MF06",
    ]
    first = rows.iloc[0]
    assert first["speaker"] == "msp-improv/F01" and first["gender"] == "female"
    assert first["session"] == "session1" and first["emotion"] == "angry"
    assert (first["arousal"], first["valence"], first["dominance"]) == (4.2, 1.8, 3.6)
    assert first["naturalness"] == 3.0
    assert first["n_raters"] == 4 and first["agreement"] == 0.75
    assert first["mode"] == "improvised-target" and first["recording"] == "S"
    assert first["text_id"] == "01" and first["scenario_emotion"] == "angry"
    second = rows.iloc[1]
    assert second["speaker"] == "msp-improv/M03" and second["session"] == "session3"
    assert second["emotion"] == "happy" and second["mode"] == "read"
    third = rows.iloc[2]
    assert third["raw_emotion"] == "X" and pd.isna(third["emotion"])
    assert pd.isna(third["naturalness"]) and third["n_raters"] == 2
    assert rows.iloc[3]["mode"] == "natural" and rows.iloc[3]["n_raters"] == 0
    assert rows["text_id"].isna().tolist() == [False, False, True, True]
    stray = " ".join(df.attrs["stray"])
    assert "FM02.wav: no entry in Evaluation.txt" in stray
    assert "F09-S-FM01.wav" in stray and "notes.doc" in stray
    assert ".avi" not in stray
    assert get_recipe("msp_improv") is msp_improv


def test_msp_improv_needs_labels(tmp_path):
    make_tree(tmp_path, FILES)
    with pytest.raises(CorpusError, match="Evaluation.txt"):
        msp_improv.prepare(tmp_path)


def test_msp_improv_corrupt_file(tmp_path):
    _tree(tmp_path)
    (tmp_path / FILES[1]).unlink()
    write_garbage(tmp_path / FILES[1])
    with pytest.raises(CorpusError, match="MSP-IMPROV-S02H-M03-R-MF03.wav"):
        msp_improv.prepare(tmp_path)
    df = msp_improv.prepare(tmp_path, skip_bad=True)
    assert len(df) == 3
    assert any("MSP-IMPROV-S02H-M03-R-MF03.wav" in s for s in df.attrs["skipped"])
