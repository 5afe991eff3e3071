"""CREMA-D recipe on a fake tree mirroring the GitHub release."""

from __future__ import annotations

import pytest

from serkit.corpora import crema_d, get_recipe
from serkit.errors import CorpusError

from ._fake import make_tree, roundtrip, write_garbage, write_text

FILES = [
    "AudioWAV/1001_DFA_ANG_XX.wav",
    "AudioWAV/1001_IEO_HAP_HI.wav",
    "AudioWAV/1002_TSI_SAD_XX.flac",
    "AudioWAV/1091_WSI_FEA_XX.wav",
]
DEMOGRAPHICS = (
    "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n"
    "1002,21,Female,Caucasian,Not Hispanic\n"
)


def _tree(root, demographics=True):
    make_tree(root, FILES)
    make_tree(root, ["AudioWAV/1001_XYZ_ANG_XX.wav", "AudioWAV/1001_DFA_ANG.wav"])
    write_text(root / "AudioWAV/desktop.ini", "x")
    if demographics:
        write_text(root / "VideoDemographics.csv", DEMOGRAPHICS)
    return root


def test_crema_d_fake_tree(tmp_path):
    df = crema_d.prepare(_tree(tmp_path))
    roundtrip(df, tmp_path / "out")
    rows = df.set_index("id")
    assert sorted(rows.index) == [
        "crema-d/1001_DFA_ANG_XX",
        "crema-d/1001_IEO_HAP_HI",
        "crema-d/1002_TSI_SAD_XX",
        "crema-d/1091_WSI_FEA_XX",
    ]
    assert rows.loc["crema-d/1001_DFA_ANG_XX", "speaker"] == "crema-d/1001"
    assert rows["emotion"].tolist() == ["angry", "happy", "sad", "fearful"]
    assert rows.loc["crema-d/1001_IEO_HAP_HI", "intensity"] == "high"
    assert rows.loc["crema-d/1001_DFA_ANG_XX", "text"] == "Don't forget a jacket"
    assert rows.loc["crema-d/1001_DFA_ANG_XX", "gender"] == "male"
    assert rows.loc["crema-d/1002_TSI_SAD_XX", "gender"] == "female"
    assert rows.loc["crema-d/1002_TSI_SAD_XX", "age"] == 21
    assert rows["gender"].isna().tolist() == [False, False, False, True]
    assert df.attrs["warnings"] == ["VideoDemographics.csv: no entry for actor(s) 1091"]
    stray = " ".join(df.attrs["stray"])
    assert "1001_XYZ_ANG_XX.wav" in stray and "1001_DFA_ANG.wav" in stray
    assert "desktop.ini" in stray
    assert get_recipe("crema_d") is crema_d


def test_crema_d_without_demographics(tmp_path):
    df = crema_d.prepare(_tree(tmp_path, demographics=False))
    assert "gender" not in df.columns
    assert len(df) == len(FILES)


def test_crema_d_corrupt_file(tmp_path):
    _tree(tmp_path)
    write_garbage(tmp_path / "AudioWAV/1076_MTI_SAD_XX.wav")
    with pytest.raises(CorpusError, match="1076_MTI_SAD_XX.wav"):
        crema_d.prepare(tmp_path)
    df = crema_d.prepare(tmp_path, skip_bad=True)
    assert len(df) == len(FILES)
    assert any("1076_MTI_SAD_XX.wav" in s for s in df.attrs["skipped"])
