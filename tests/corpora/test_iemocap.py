"""IEMOCAP recipe on a fake release tree (sentence and dialogue modes)."""

from __future__ import annotations

import pandas as pd
import pytest

from serkit.corpora import get_recipe, iemocap
from serkit.errors import CorpusError

from ._fake import make_tree, roundtrip, write_garbage, write_text

EVAL_IMPRO = """% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]

[0.1000 - 0.3000]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]
C-E2:\tNeutral;\t()
C-E3:\tNeutral;\t()
C-E4:\tFrustration; Neutral;\t()
C-F1:\tAnger;\t()
A-E3:\tval 3; act 2; dom  2;\t()

[0.5000 - 0.7000]\tSes01F_impro01_M001\texc\t[4.0000, 3.5000, 3.0000]
C-E1:\tExcited;\t()
C-E2:\tHappiness;\t()

[0.9000 - 1.4000]\tSes01F_impro01_M002\txxx\t[3.0000, 3.0000, 3.0000]
C-E1:\tAnger;\t()
C-E2:\tSadness;\t()
"""
EVAL_SCRIPT = """% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]

[0.2000 - 0.4000]\tSes02M_script01_1_F000\tang\t[1.5000, 4.0000, 4.0000]
C-E1:\tAnger;\t()
"""
TRANSCRIPT = (
    "Ses01F_impro01_F000 [000.1000-000.3000]: Excuse me.\n"
    "M: [BREATHING]\nSes01F_impro01_M001 [000.5000-000.7000]: Yeah.\n"
)
SENTENCES = [
    "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav",
    "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M001.wav",
    "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M002.wav",
    "Session2/sentences/wav/Ses02M_script01_1/Ses02M_script01_1_F000.flac",
]


def _tree(root):
    release = root / "IEMOCAP_full_release"
    make_tree(release, SENTENCES)
    make_tree(release, ["Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F099.wav"])
    make_tree(release, ["Session1/dialog/wav/Ses01F_impro01.wav"], seconds=1.2)
    make_tree(release, ["Session2/dialog/wav/Ses02M_script01_1.wav"], seconds=1.0)
    write_text(release / "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt", EVAL_IMPRO)
    write_text(release / "Session2/dialog/EmoEvaluation/Ses02M_script01_1.txt", EVAL_SCRIPT)
    write_text(release / "Session1/dialog/transcriptions/Ses01F_impro01.txt", TRANSCRIPT)
    write_text(release / "Session1/sentences/wav/Ses01F_impro01/notes.pk", "x")
    write_text(release / "Session1/dialog/MOCAP_rotated/Ses01F_impro01.txt", "ignored")
    return root


def test_iemocap_sentences(tmp_path):
    df = iemocap.prepare(_tree(tmp_path))
    roundtrip(df, tmp_path / "out")
    rows = df.set_index("id")
    assert sorted(rows.index) == [
        "iemocap/Ses01F_impro01_F000",
        "iemocap/Ses01F_impro01_M001",
        "iemocap/Ses01F_impro01_M002",
        "iemocap/Ses02M_script01_1_F000",
    ]
    first = rows.loc["iemocap/Ses01F_impro01_F000"]
    assert first["speaker"] == "iemocap/Ses01F" and first["gender"] == "female"
    assert first["emotion"] == "neutral" and first["raw_emotion"] == "neu"
    assert (first["valence"], first["arousal"], first["dominance"]) == (2.5, 2.5, 2.5)
    assert first["session"] == "Session1" and first["mode"] == "improvised"
    assert first["text"] == "Excuse me."
    assert first["n_raters"] == 3 and first["agreement"] == 1.0
    male = rows.loc["iemocap/Ses01F_impro01_M001"]
    assert male["speaker"] == "iemocap/Ses01M" and male["gender"] == "male"
    assert male["emotion"] == "excited" and male["agreement"] == 0.5
    assert male["valence"] == 4.0 and male["arousal"] == 3.5
    unlabelled = rows.loc["iemocap/Ses01F_impro01_M002"]
    assert unlabelled["raw_emotion"] == "xxx" and pd.isna(unlabelled["emotion"])
    scripted = rows.loc["iemocap/Ses02M_script01_1_F000"]
    assert scripted["mode"] == "scripted" and scripted["speaker"] == "iemocap/Ses02F"
    assert scripted["session"] == "Session2" and scripted["emotion"] == "angry"
    assert "start" not in df.columns
    stray = " ".join(df.attrs["stray"])
    assert "Ses01F_impro01_F099.wav" in stray and "notes.pk" in stray
    assert "MOCAP_rotated" not in stray
    assert get_recipe("iemocap") is iemocap


def test_iemocap_dialogs(tmp_path):
    df = iemocap.prepare(_tree(tmp_path), use_dialogs=True, sessions=(1,))
    rows = df.set_index("id")
    assert list(rows.index) == [
        "iemocap/Ses01F_impro01_F000",
        "iemocap/Ses01F_impro01_M001",
        "iemocap/Ses01F_impro01_M002",
    ]
    assert set(rows["path"]) == {"IEMOCAP_full_release/Session1/dialog/wav/Ses01F_impro01.wav"}
    assert rows["start"].tolist() == [0.1, 0.5, 0.9]
    assert rows.loc["iemocap/Ses01F_impro01_M002", "end"] == pytest.approx(1.2)  # clipped
    assert rows["duration"].round(3).tolist() == [0.2, 0.2, 0.3]
    assert any("clipped" in s for s in df.attrs["stray"])


def test_iemocap_unknown_label(tmp_path):
    _tree(tmp_path)
    path = tmp_path / "IEMOCAP_full_release/Session2/dialog/EmoEvaluation/Ses02M_script01_1.txt"
    write_text(path, EVAL_SCRIPT.replace("\tang\t", "\tjoy\t"))
    with pytest.raises(CorpusError, match="Ses02M_script01_1.txt.*'joy'"):
        iemocap.prepare(tmp_path)


def test_iemocap_corrupt_file(tmp_path):
    _tree(tmp_path)
    release = tmp_path / "IEMOCAP_full_release"
    write_garbage(release / "Session2/sentences/wav/Ses02M_script01_1/Ses02M_script01_1_F000.wav")
    (release / "Session2/sentences/wav/Ses02M_script01_1/Ses02M_script01_1_F000.flac").unlink()
    with pytest.raises(CorpusError, match="Ses02M_script01_1_F000.wav"):
        iemocap.prepare(tmp_path)
    df = iemocap.prepare(tmp_path, skip_bad=True)
    assert len(df) == 3
    assert any("Ses02M_script01_1_F000.wav" in s for s in df.attrs["skipped"])
    write_garbage(release / "Session1/dialog/wav/Ses01F_impro01.wav")
    with pytest.raises(CorpusError, match="Ses01F_impro01.wav"):
        iemocap.prepare(tmp_path, use_dialogs=True)
    df = iemocap.prepare(tmp_path, use_dialogs=True, skip_bad=True)
    assert df["id"].tolist() == ["iemocap/Ses02M_script01_1_F000"]
    assert any("Ses01F_impro01.wav" in s for s in df.attrs["skipped"])
