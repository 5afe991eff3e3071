"""SUBESCO recipe on a fake tree mirroring the release naming."""

from __future__ import annotations

from serkit.corpora import get_recipe, subesco

from ._fake import make_tree, write_text

FILES = [
    "F_01_OISHI_S_1_ANGRY_1.wav",
    "F_01_OISHI_S_10_DISGUST_5.wav",
    "F_02_MONIKA_S_3_FEAR_2.flac",
    "M_01_MRINMOY_S_2_HAPPY_3.wav",
    "M_01_MRINMOY_S_2_NEUTRAL_3.wav",
    "M_10_TANVIR_S_7_SAD_4.wav",
    "M_10_TANVIR_S_7_SURPRISE_1.wav",
]


def test_subesco_fake_tree(tmp_path):
    make_tree(tmp_path, [f"SUBESCO/{name}" for name in FILES])
    make_tree(tmp_path, ["SUBESCO/M_10_TANVIR_S_7_BORED_1.wav", "SUBESCO/M_10_TANVIR_7_SAD.wav"])
    write_text(tmp_path / "SUBESCO/info.xlsx", "stray")
    df = subesco.prepare(tmp_path)
    rows = df.set_index("id")
    assert sorted(rows.index) == sorted(f"subesco/{n.split('.')[0]}" for n in FILES)
    assert rows.loc["subesco/F_01_OISHI_S_1_ANGRY_1", "speaker"] == "subesco/F_01"
    assert rows.loc["subesco/M_01_MRINMOY_S_2_HAPPY_3", "speaker"] == "subesco/M_01"
    assert df["speaker"].nunique() == 4
    assert rows.loc["subesco/F_02_MONIKA_S_3_FEAR_2", "gender"] == "female"
    assert rows.loc["subesco/M_10_TANVIR_S_7_SAD_4", "gender"] == "male"
    expected = {
        "ANGRY_1": "angry",
        "DISGUST_5": "disgust",
        "FEAR_2": "fearful",
        "HAPPY_3": "happy",
        "NEUTRAL_3": "neutral",
        "SAD_4": "sad",
        "SURPRISE_1": "surprised",
    }
    for row_id, row in rows.iterrows():
        suffix = "_".join(row_id.split("_")[-2:])
        assert row["emotion"] == expected[suffix]
    assert rows.loc["subesco/F_01_OISHI_S_10_DISGUST_5", "text_id"] == "10"
    assert rows.loc["subesco/F_01_OISHI_S_10_DISGUST_5", "repetition"] == "5"
    assert rows.loc["subesco/F_01_OISHI_S_10_DISGUST_5", "raw_emotion"] == "DISGUST"
    stray = "\n".join(df.attrs["stray"])
    assert "BORED_1.wav: unknown emotion 'BORED'" in stray
    assert "M_10_TANVIR_7_SAD.wav" in stray
    assert "info.xlsx" in stray
    assert get_recipe("subesco") is subesco
