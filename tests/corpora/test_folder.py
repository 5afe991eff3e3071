"""The generic folder-per-emotion recipe on small fake trees."""

from __future__ import annotations

import pandas as pd
import pytest

from serkit.corpora import folder, get_recipe
from serkit.errors import ConfigError

from ._fake import make_tree, write_garbage, write_text

FILES = [
    "Anger/spk1/a.wav",
    "Anger/spk2/sub/b.flac",
    "happiness/spk1/c.wav",
    "Neutral/d.wav",
    "Pleasant Surprise/spk3/e.wav",
    "frustration_high/spk3/f.wav",
]


def _tree(root):
    make_tree(root, FILES)
    make_tree(root, ["loose.wav", "Anger/spk1/a.flac"])  # no label folder; same id as a.wav
    write_text(root / "Anger/spk1/notes.txt", "stray")
    return root


def test_folder_default(tmp_path):
    df = folder.prepare(_tree(tmp_path))
    rows = df.set_index("id")
    assert sorted(rows.index) == sorted(f"folder/{p.rsplit('.', 1)[0]}" for p in FILES)
    assert rows.loc["folder/Anger/spk1/a", "speaker"] == "folder/spk1"
    assert rows.loc["folder/Anger/spk2/sub/b", "speaker"] == "folder/spk2"
    assert rows.loc["folder/Neutral/d", "speaker"] == "folder/unknown"
    assert rows.loc["folder/Anger/spk1/a", "emotion"] == "angry"
    assert rows.loc["folder/Anger/spk1/a", "raw_emotion"] == "Anger"
    assert rows.loc["folder/happiness/spk1/c", "emotion"] == "happy"
    assert rows.loc["folder/Neutral/d", "emotion"] == "neutral"
    assert rows.loc["folder/Pleasant Surprise/spk3/e", "emotion"] == "surprised"
    assert pd.isna(rows.loc["folder/frustration_high/spk3/f", "emotion"])
    assert df.attrs["unmapped_labels"] == {"frustration_high": 1}
    stray = "\n".join(df.attrs["stray"])
    assert "loose.wav: file sits in the root" in stray
    assert "same utterance id 'Anger/spk1/a'" in stray
    assert "notes.txt" in stray
    assert get_recipe("folder") is folder


def test_folder_options(tmp_path):
    make_tree(tmp_path, ["angry/X01_take1.wav", "calm/X02_take1.wav", "calm/nospk.wav"])
    make_tree(tmp_path, ["blah/X03_take2.wav"])
    df = folder.prepare(
        tmp_path,
        speaker_regex=r"^(?P<speaker>X\d+)_",
        label_map={"Calm": "neutral"},
        unknown="other",
        name="mydata",
        language="de",
    )
    rows = df.set_index("id")
    assert rows.loc["mydata/angry/X01_take1", "speaker"] == "mydata/X01"
    assert rows.loc["mydata/calm/X02_take1", "emotion"] == "neutral"  # label_map beats synonyms
    assert rows.loc["mydata/blah/X03_take2", "emotion"] == "other"
    assert (rows["language"] == "de").all()
    assert any("calm/nospk.wav: speaker_regex" in s for s in df.attrs["stray"])
    strict = folder.prepare(tmp_path, unknown="error", speaker_regex=r"(?P<speaker>X\d+)")
    assert any("blah/X03_take2.wav" in s and "label_map" in s for s in strict.attrs["stray"])


def test_folder_bad_options_and_files(tmp_path):
    make_tree(tmp_path, ["sad/s1/a.wav"])
    with pytest.raises(ConfigError, match="named group"):
        folder.prepare(tmp_path, speaker_regex=r"^(\w+)_")
    with pytest.raises(ConfigError, match="not a canonical emotion"):
        folder.prepare(tmp_path, label_map={"sad": "gloomy"})
    with pytest.raises(ConfigError, match="unknown="):
        folder.prepare(tmp_path, unknown="drop")
    write_garbage(tmp_path / "sad/s1/broken.wav")
    df = folder.prepare(tmp_path, skip_bad=True)
    assert list(df["id"]) == ["folder/sad/s1/a"]
    assert any("broken.wav" in s for s in df.attrs["skipped"])


def test_scan_skips_readme_and_licence_files_in_every_recipe(tmp_path):
    from serkit.corpora import _common

    make_tree(tmp_path, ["Anger/a.wav"])
    for name in ("README.md", "LICENSE", "Anger/license.txt", "readme"):
        write_text(tmp_path / name, "documentation")
    write_text(tmp_path / "notes.txt", "stray")
    write_text(tmp_path / "speakers.csv", "corpus-specific")
    found = _common.scan(tmp_path, ignore=("Speakers.CSV",))
    assert found.audio == ["Anger/a.wav"]
    assert found.stray == ["notes.txt: not an audio file"]


def test_a_named_folder_corpus_prepares_under_its_name(tmp_path):
    """``prepare("folder", root, name=...)``: the recipe's ``name`` option does not collide
    with the recipe name argument, and the manifest is written under the corpus name."""
    import numpy as np
    import soundfile as sf

    from serkit.corpora import prepare

    for emotion in ("angry", "happy"):
        (tmp_path / "c" / emotion).mkdir(parents=True)
        for i in range(2):
            signal = 0.1 * np.random.default_rng(i).standard_normal(8000).astype("float32")
            sf.write(tmp_path / "c" / emotion / f"s{i}_{emotion}.wav", signal, 16000)
    df = prepare("folder", tmp_path / "c", output=tmp_path / "m", name="mycorp")
    assert set(df["corpus"]) == {"mycorp"}
    assert (tmp_path / "m" / "mycorp.parquet").exists()
