"""JL-corpus recipe on a fake tree mirroring the release naming (with transcripts)."""

from __future__ import annotations

import pandas as pd
import pytest

from serkit.corpora import get_recipe, jl_corpus
from serkit.errors import ConfigError

from ._fake import make_tree, write_text

FILES = [
    "JL/female1_angry_10a_1.wav",
    "JL/female2_sad_1b_2.wav",
    "JL/male1_neutral_3a_1.flac",
    "JL/male2_happy_15b_2.wav",
    "JL/male2_excited_2a_1.wav",
    "JL/female1_anxious_4a_1.wav",
    "JL/male1_encouraging_9b_2.wav",
]


def _tree(root):
    make_tree(root, FILES)
    write_text(root / "JL/female1_angry_10a_1.txt", "Hi, how are\n you?\n")
    make_tree(root, ["JL/female1_bored_1a_1.wav", "JL/female1_angry.wav"])
    write_text(root / "JL/notes.txt", "stray")
    return root


def test_jl_corpus_fake_tree(tmp_path):
    df = jl_corpus.prepare(_tree(tmp_path))
    rows = df.set_index("id")
    assert sorted(rows.index) == sorted(f"jl-corpus/{p[3:].split('.')[0]}" for p in FILES)
    assert rows.loc["jl-corpus/female1_angry_10a_1", "speaker"] == "jl-corpus/female1"
    assert rows.loc["jl-corpus/male2_happy_15b_2", "speaker"] == "jl-corpus/male2"
    assert rows.loc["jl-corpus/female2_sad_1b_2", "gender"] == "female"
    assert rows.loc["jl-corpus/male1_neutral_3a_1", "gender"] == "male"
    primary = {
        "female1_angry_10a_1": "angry",
        "female2_sad_1b_2": "sad",
        "male1_neutral_3a_1": "neutral",
        "male2_happy_15b_2": "happy",
        "male2_excited_2a_1": "excited",
    }
    for local, emotion in primary.items():
        assert rows.loc[f"jl-corpus/{local}", "emotion"] == emotion
    assert pd.isna(rows.loc["jl-corpus/female1_anxious_4a_1", "emotion"])
    assert rows.loc["jl-corpus/female1_anxious_4a_1", "raw_emotion"] == "anxious"
    assert pd.isna(rows.loc["jl-corpus/male1_encouraging_9b_2", "emotion"])
    assert rows.loc["jl-corpus/female1_angry_10a_1", "text"] == "Hi, how are you?"
    assert pd.isna(rows.loc["jl-corpus/female2_sad_1b_2", "text"])
    assert rows.loc["jl-corpus/female1_angry_10a_1", "text_id"] == "10a"
    assert rows.loc["jl-corpus/female2_sad_1b_2", "session"] == "2"
    stray = "\n".join(df.attrs["stray"])
    assert "female1_bored_1a_1.wav: unknown emotion 'bored'" in stray
    assert "JL/female1_angry.wav" in stray
    assert "JL/notes.txt" in stray
    assert "female1_angry_10a_1.txt" not in stray
    assert get_recipe("jl-corpus") is jl_corpus
    assert get_recipe("jl_corpus") is jl_corpus


def test_jl_corpus_secondary_other(tmp_path):
    df = jl_corpus.prepare(_tree(tmp_path), secondary="other")
    rows = df.set_index("id")
    assert rows.loc["jl-corpus/female1_anxious_4a_1", "emotion"] == "other"
    assert rows.loc["jl-corpus/female1_angry_10a_1", "emotion"] == "angry"
    with pytest.raises(ConfigError, match="secondary"):
        jl_corpus.prepare(tmp_path, secondary="drop")
