"""EmoV-DB recipe on fake trees mirroring the release and the "sorted" layouts."""

from __future__ import annotations

from serkit.corpora import emov_db, get_recipe

from ._fake import make_tree, write_text

FILES = [
    "bea_Amused/amused_1-15_0001.wav",
    "bea_Angry/anger_1-28_0011.wav",
    "jenie_Disgusted/disgust_57-84_0060.flac",
    "josh_Sleepy/sleepiness_1-28_0002.wav",
    "Sam_neutral/neutral_1-28_0001.wav",
    "sorted/sam/Sleepy/sleepy_29-56_0040.wav",
]


def test_emov_db_fake_tree(tmp_path):
    make_tree(tmp_path, FILES)
    make_tree(
        tmp_path,
        [
            "bea_Angry/amused_1-15_0002.wav",  # folder says angry, name says amused
            "bea_Angry/anger.wav",
            "nobody_Angry/anger_1-28_0012.wav",
            "jenie_Amused/happy_1-15_0003.wav",
        ],
    )
    write_text(tmp_path / "bea_Angry/anger_1-28.TextGrid", "stray")
    df = emov_db.prepare(tmp_path)
    rows = df.set_index("id")
    assert sorted(rows.index) == sorted(
        [
            "emov-db/bea_amused_1-15_0001",
            "emov-db/bea_anger_1-28_0011",
            "emov-db/jenie_disgust_57-84_0060",
            "emov-db/josh_sleepiness_1-28_0002",
            "emov-db/sam_neutral_1-28_0001",
            "emov-db/sam_sleepy_29-56_0040",
        ]
    )
    assert rows.loc["emov-db/bea_amused_1-15_0001", "speaker"] == "emov-db/bea"
    assert rows.loc["emov-db/sam_neutral_1-28_0001", "speaker"] == "emov-db/sam"
    assert rows.loc["emov-db/sam_sleepy_29-56_0040", "speaker"] == "emov-db/sam"
    assert rows.loc["emov-db/bea_amused_1-15_0001", "emotion"] == "amused"
    assert rows.loc["emov-db/bea_anger_1-28_0011", "emotion"] == "angry"
    assert rows.loc["emov-db/bea_anger_1-28_0011", "raw_emotion"] == "anger"
    assert rows.loc["emov-db/jenie_disgust_57-84_0060", "emotion"] == "disgust"
    assert rows.loc["emov-db/josh_sleepiness_1-28_0002", "emotion"] == "sleepy"
    assert rows.loc["emov-db/sam_neutral_1-28_0001", "emotion"] == "neutral"
    assert rows.loc["emov-db/bea_amused_1-15_0001", "gender"] == "female"
    assert rows.loc["emov-db/josh_sleepiness_1-28_0002", "gender"] == "male"
    assert rows.loc["emov-db/bea_anger_1-28_0011", "session"] == "1-28"
    assert rows.loc["emov-db/bea_anger_1-28_0011", "text_id"] == "0011"
    stray = "\n".join(df.attrs["stray"])
    assert "amused_1-15_0002.wav: file name says amused but folder says angry" in stray
    assert "bea_Angry/anger.wav" in stray
    assert "nobody_Angry/anger_1-28_0012.wav: no speaker folder" in stray
    assert "happy_1-15_0003.wav: unknown emotion 'happy'" in stray
    assert "anger_1-28.TextGrid" in stray
    assert get_recipe("emov_db") is emov_db
    assert get_recipe("emov-db") is emov_db
