"""MESD recipe on a fake tree mirroring the release naming."""

from __future__ import annotations

import pandas as pd

from serkit.corpora import get_recipe, mesd

from ._fake import make_tree, write_text

FILES = [
    "Mexican Emotional Speech Database (MESD)/Anger_C_A_abajo.wav",
    "Mexican Emotional Speech Database (MESD)/Disgust_F_B_adiós.wav",
    "Mexican Emotional Speech Database (MESD)/Fear_M_A_niño.flac",
    "Mexican Emotional Speech Database (MESD)/Happiness_F_A_abajo.wav",
    "Mexican Emotional Speech Database (MESD)/Neutral_M_B_cama.wav",
    "Mexican Emotional Speech Database (MESD)/Sadness_C_B_cama.wav",
]


def test_mesd_fake_tree(tmp_path):
    make_tree(tmp_path, FILES)
    folder = "Mexican Emotional Speech Database (MESD)"
    make_tree(tmp_path, [f"{folder}/Boredom_C_A_abajo.wav", f"{folder}/Anger_X_A_abajo.wav"])
    write_text(tmp_path / f"{folder}/info.pdf", "stray")
    df = mesd.prepare(tmp_path)
    rows = df.set_index("id")
    assert len(df) == len(FILES)
    assert rows.loc["mesd/Anger_C_A_abajo", "speaker"] == "mesd/C"
    assert rows.loc["mesd/Disgust_F_B_adiós", "speaker"] == "mesd/F"
    assert pd.isna(rows.loc["mesd/Anger_C_A_abajo", "gender"])
    assert rows.loc["mesd/Anger_C_A_abajo", "age_group"] == "child"
    assert rows.loc["mesd/Disgust_F_B_adiós", "gender"] == "female"
    assert rows.loc["mesd/Fear_M_A_niño", "gender"] == "male"
    expected = {
        "Anger_C_A_abajo": "angry",
        "Disgust_F_B_adiós": "disgust",
        "Fear_M_A_niño": "fearful",
        "Happiness_F_A_abajo": "happy",
        "Neutral_M_B_cama": "neutral",
        "Sadness_C_B_cama": "sad",
    }
    for local, emotion in expected.items():
        assert rows.loc[f"mesd/{local}", "emotion"] == emotion
    assert rows.loc["mesd/Fear_M_A_niño", "text"] == "niño"
    assert rows.loc["mesd/Fear_M_A_niño", "raw_emotion"] == "Fear"
    assert rows.loc["mesd/Disgust_F_B_adiós", "session"] == "B"
    stray = "\n".join(df.attrs["stray"])
    assert "Boredom_C_A_abajo.wav: unknown emotion 'Boredom'" in stray
    assert "Anger_X_A_abajo.wav" in stray
    assert "info.pdf" in stray
    assert get_recipe("mesd") is mesd
