"""Keep the first of several files that map to the same utterance id (copies, re-extractions)."""

from __future__ import annotations


def drop_duplicates(rows: list[dict], stray: list[str]) -> list[dict]:
    """Drop rows whose ``local_id`` was already seen, reporting each dropped file as stray.

    Some distributions of a corpus ship the same tree twice (e.g. a Kaggle copy nested in
    itself); without this the manifest would fail validation on duplicate ids.

    Args:
        rows: recipe rows with ``local_id`` and ``path``.
        stray: the recipe's stray list; one line is appended per dropped file.

    Returns:
        The rows with a first-seen ``local_id``, in their original order.
    """
    seen: dict[str, str] = {}
    kept: list[dict] = []
    for row in rows:
        key = str(row["local_id"])
        if key in seen:
            stray.append(f"{row['path']}: same utterance id {key!r} as {seen[key]}; kept the first")
            continue
        seen[key] = row["path"]
        kept.append(row)
    return kept
