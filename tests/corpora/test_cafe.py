"""CaFE recipe on a fake tree mirroring the release layout (accented and garbled folders)."""

from __future__ import annotations

import pandas as pd

from serkit.corpora import cafe, get_recipe

from ._fake import make_tree, write_text

FILES = [
    "Colère/Faible/01-C-1-1.wav",
    "DВgoЦt/Fort/02-D-2-6.wav",  # accented folder name garbled by unzip, as in the wild
    "Joie/Fort/03-J-2-3.flac",
    "Neutre/04-N-1-5.wav",
    "Peur/Faible/11-P-1-2.wav",
    "Surprise/Fort/12-S-2-4.wav",
    "Tristesse/Faible/07-T-1-1.wav",
]


def test_cafe_fake_tree(tmp_path):
    make_tree(tmp_path, FILES)
    make_tree(tmp_path, ["Joie/Fort/03-X-2-3.wav", "Joie/Fort/03_J_2_3.wav"])
    write_text(tmp_path / "Joie/desktop.ini", "stray")
    df = cafe.prepare(tmp_path)
    rows = df.set_index("id")
    assert sorted(rows.index) == sorted(f"cafe/{p.split('/')[-1].split('.')[0]}" for p in FILES)
    assert rows.loc["cafe/01-C-1-1", "speaker"] == "cafe/01"
    assert rows.loc["cafe/01-C-1-1", "gender"] == "male"
    assert rows.loc["cafe/02-D-2-6", "gender"] == "female"
    expected = {
        "01-C-1-1": "angry",
        "02-D-2-6": "disgust",
        "03-J-2-3": "happy",
        "04-N-1-5": "neutral",
        "11-P-1-2": "fearful",
        "12-S-2-4": "surprised",
        "07-T-1-1": "sad",
    }
    for local, emotion in expected.items():
        assert rows.loc[f"cafe/{local}", "emotion"] == emotion
    assert rows.loc["cafe/01-C-1-1", "intensity"] == "weak"
    assert rows.loc["cafe/02-D-2-6", "intensity"] == "strong"
    assert pd.isna(rows.loc["cafe/04-N-1-5", "intensity"])
    assert rows.loc["cafe/02-D-2-6", "text_id"] == "6"
    assert rows.loc["cafe/02-D-2-6", "raw_emotion"] == "D"
    assert (rows["language"] == "fr").all()
    stray = "\n".join(df.attrs["stray"])
    assert "03-X-2-3.wav: unknown emotion code 'X'" in stray
    assert "03_J_2_3.wav" in stray
    assert "desktop.ini" in stray
    assert get_recipe("cafe") is cafe
