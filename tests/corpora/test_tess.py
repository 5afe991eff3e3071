"""TESS recipe on a fake tree mirroring the release layout and its folder-name variants."""

from __future__ import annotations

from serkit.corpora import get_recipe, tess

from ._fake import make_tree, write_text

FILES = [
    "OAF_angry/OAF_back_angry.wav",
    "OAF_Fear/OAF_bar_fear.wav",
    "OAF_Pleasant_surprise/OAF_base_ps.wav",
    "OAF_neutral/OA_bite_neutral.wav",
    "YAF_pleasant_surprised/YAF_back_ps.flac",
    "YAF_sad/YAF_bath_sad.wav",
    "YAF_disgust/YAF_bean_disgust.wav",
    "YAF_happy/YAF_boat_happy.wav",
]


def test_tess_fake_tree(tmp_path):
    make_tree(tmp_path, FILES)
    make_tree(tmp_path, ["copy/OAF_angry/OAF_back_angry.wav", "YAF_sad/YAF_bath_bored.wav"])
    make_tree(tmp_path, ["YAF_sad/sad1.wav"])
    write_text(tmp_path / "YAF_sad/desktop.ini", "stray")
    df = tess.prepare(tmp_path)
    rows = df.set_index("id")
    assert len(df) == len(FILES)
    assert rows.loc["tess/OAF_back_angry", "speaker"] == "tess/OAF"
    assert rows.loc["tess/OAF_bite_neutral", "speaker"] == "tess/OAF"  # OA_ prefix quirk
    assert rows.loc["tess/OAF_bite_neutral", "path"] == "OAF_neutral/OA_bite_neutral.wav"
    assert rows.loc["tess/YAF_back_ps", "speaker"] == "tess/YAF"
    assert rows.loc["tess/YAF_back_ps", "emotion"] == "surprised"
    assert rows.loc["tess/YAF_back_ps", "raw_emotion"] == "ps"
    assert rows.loc["tess/OAF_bar_fear", "emotion"] == "fearful"
    assert rows.loc["tess/YAF_bean_disgust", "emotion"] == "disgust"
    assert rows.loc["tess/YAF_boat_happy", "emotion"] == "happy"
    assert rows.loc["tess/YAF_bath_sad", "text"] == "Say the word bath"
    assert rows.loc["tess/YAF_bath_sad", "text_id"] == "bath"
    assert (rows["gender"] == "female").all()
    stray = "\n".join(df.attrs["stray"])
    assert "copy/OAF_angry/OAF_back_angry.wav: same utterance id" in stray
    assert "YAF_bath_bored.wav: unknown emotion 'bored'" in stray
    assert "YAF_sad/sad1.wav" in stray
    assert "desktop.ini" in stray
    assert get_recipe("tess") is tess
