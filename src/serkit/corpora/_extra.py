"""Reading the small text files (transcripts, label lists) that corpora ship."""

from __future__ import annotations

from pathlib import Path

from serkit.errors import CorpusError

ENCODINGS: tuple[str, ...] = ("utf-8-sig", "utf-16", "gb18030", "latin-1")


def read_text(path: Path, *, corpus: str, encodings: tuple[str, ...] = ENCODINGS) -> str:
    """Read a text file, trying ``encodings`` in order (some releases ship UTF-16 or GBK).

    A UTF-16 attempt is only made when the file starts with a UTF-16 byte-order mark, so plain
    ASCII/UTF-8 files are never misread as UTF-16.

    Raises:
        CorpusError: the file cannot be read (names the file and what to do).
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CorpusError(
            f"{corpus}: cannot read {path} ({exc.strerror}); check that it exists and is readable"
        ) from exc
    has_bom16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
    for encoding in encodings:
        if encoding == "utf-16" and not has_bom16:
            continue
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CorpusError(  # pragma: no cover - latin-1 decodes any byte string
        f"{corpus}: {path} is not text in any of {', '.join(encodings)}; re-save it as UTF-8"
    )
