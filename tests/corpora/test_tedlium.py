"""TED-LIUM release 2 recipe on a fake tree (NIST SPHERE and converted copies)."""

from __future__ import annotations

import pandas as pd
import pytest

from serkit import audio
from serkit.corpora import get_recipe, tedlium
from serkit.errors import CorpusError

from ._fake import make_tree, roundtrip, write_garbage, write_text

STM_A = """;; comment line
TalkA_2010 1 TalkA_2010 0.00 0.40 <o,f0,male> hello world
TalkA_2010 1 inter_segment_gap 0.40 0.50 <o,,unknown> ignore_time_segment_in_scoring
TalkA_2010 1 TalkA_2010 0.50 0.90 <o,f0,male> second segment
TalkA_2010 1 TalkA_2010 0.95 1.30 <o,f0,male> runs past the end
TalkA_2010 1 TalkA_2010 oops
"""
STM_B = "TalkB_2012 1 TalkB_2012 0.10 0.60 <o,f0,female> dev talk\n"
STM_C = "TalkC_2013 1 TalkC_2013 0.00 0.20 <o,f0,female> test talk\n"


def _tree(root):
    release = root / "TEDLIUM_release2"
    make_tree(release, ["train/sph/TalkA_2010.sph"], seconds=1.0)
    make_tree(release, ["dev/sph/TalkB_2012.sph", "dev/wav/TalkB_2012.flac"], seconds=0.8)
    make_tree(release, ["test/sph/TalkC_2013.sph", "train/sph/Orphan_2011.sph"], seconds=0.3)
    write_text(release / "train/stm/TalkA_2010.stm", STM_A)
    write_text(release / "dev/stm/TalkB_2012.stm", STM_B)
    write_text(release / "test/stm/TalkC_2013.stm", STM_C)
    write_text(release / "train/stm/NoAudio_2009.stm", STM_C.replace("TalkC_2013", "NoAudio_2009"))
    write_text(release / "TEDLIUM.150K.dic", "ignored")
    write_text(release / "train/notes.txt", "x")
    return root


def test_sph_is_audio():
    assert audio.is_audio("talk.SPH")


def test_tedlium_fake_tree(tmp_path):
    df = tedlium.prepare(_tree(tmp_path))
    roundtrip(df, tmp_path / "out")
    rows = df.set_index("id")
    assert list(rows.index) == [
        "tedlium/TalkA_2010_0000000_0000040",
        "tedlium/TalkA_2010_0000050_0000090",
        "tedlium/TalkA_2010_0000095_0000130",
        "tedlium/TalkB_2012_0000010_0000060",
        "tedlium/TalkC_2013_0000000_0000020",
    ]
    assert rows["speaker"].tolist()[2:] == [
        "tedlium/TalkA_2010",
        "tedlium/TalkB_2012",
        "tedlium/TalkC_2013",
    ]
    assert rows["emotion"].isna().all() and (rows["raw_emotion"] == "unlabelled").all()
    assert rows["split"].tolist() == ["train", "train", "train", "dev", "test"]
    assert rows["gender"].tolist() == ["male", "male", "male", "female", "female"]
    first = rows.loc["tedlium/TalkA_2010_0000000_0000040"]
    assert first["text"] == "hello world" and first["talk"] == "TalkA_2010"
    assert first["path"] == "TEDLIUM_release2/train/sph/TalkA_2010.sph"
    assert (first["start"], first["end"], first["duration"]) == (0.0, 0.4, 0.4)
    assert rows.loc["tedlium/TalkB_2012_0000010_0000060", "path"].endswith("wav/TalkB_2012.flac")
    last = rows.loc["tedlium/TalkA_2010_0000095_0000130"]
    assert last["end"] == pytest.approx(1.0) and last["duration"] == pytest.approx(0.05)
    stray = " ".join(df.attrs["stray"])
    for expected in (
        "TalkA_2010.stm:6",  # malformed line
        "dev/sph/TalkB_2012.sph: another copy",
        "NoAudio_2009.stm: no audio",
        "Orphan_2011.sph: no stm",
        "notes.txt",
        "clipped",
    ):
        assert expected in stray
    assert "150K" not in stray
    assert get_recipe("tedlium2") is tedlium
    only_dev = tedlium.prepare(tmp_path, splits=("dev",))
    assert only_dev["split"].tolist() == ["dev"]
    assert pd.api.types.is_float_dtype(only_dev["start"])


def test_tedlium_corrupt_file(tmp_path):
    _tree(tmp_path)
    write_garbage(tmp_path / "TEDLIUM_release2/test/sph/TalkC_2013.sph")
    with pytest.raises(CorpusError, match="TalkC_2013.sph"):
        tedlium.prepare(tmp_path)
    df = tedlium.prepare(tmp_path, skip_bad=True)
    assert not df["id"].str.contains("TalkC").any()
    assert len(df) == 4
    assert any("TalkC_2013.sph" in s for s in df.attrs["skipped"])
