"""What one request may send: body size, audio duration and content types.

Each refusal is an :class:`UploadError` with the HTTP status it is answered with and a message
that says what was wrong, the limit and what to send instead:

* ``413``: the body is larger than ``max_bytes`` or the audio longer than ``max_duration_s``;
* ``415``: a content type the server does not decode;
* ``422``: an empty, corrupt, silent or otherwise unanalysable upload, or a missing field or
  parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

from serkit.errors import ConfigError, SerkitError

#: audio file formats decoded from an upload (soundfile/libsndfile reads them)
FILE_TYPES = (
    "audio/wav",
    "audio/x-wav",
    "audio/wave",
    "audio/vnd.wave",
    "audio/flac",
    "audio/x-flac",
    "audio/ogg",
    "audio/mpeg",
    "audio/mp3",
    "application/octet-stream",  # a file part a browser could not type: decoded by content
)
#: raw little-endian PCM, with ``sample_rate`` (and ``dtype``, ``channels``) as query parameters
PCM_TYPES = ("audio/pcm",)
#: a form with the audio in the field ``file``
FORM_TYPE = "multipart/form-data"
#: what multipart framing may add to an upload of ``max_bytes`` (headers, boundaries, fields)
FORM_OVERHEAD = 64 * 1024


class UploadError(SerkitError):
    """A request the server refuses, with the HTTP ``status`` to answer it with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    """The limits of one request and of the worker pool.

    Attributes:
        max_bytes: largest audio upload in bytes (a form may add :data:`FORM_OVERHEAD`).
        max_duration_s: longest audio in seconds (an upload or one WebSocket stream).
        max_queue: requests that may wait for a worker; more get ``503`` (server busy).
    """

    max_bytes: int = 50 * 1024 * 1024
    max_duration_s: float = 600.0
    max_queue: int = 64

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_duration_s", "max_queue"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"Limits.{name} must be a number >= 0; found {value!r}")
        if self.max_bytes == 0 or self.max_duration_s == 0:
            raise ConfigError(
                f"Limits.max_bytes and max_duration_s must be > 0; found {self.max_bytes} and "
                f"{self.max_duration_s} (nothing could be uploaded)"
            )

    def check_size(self, size: int, *, form: bool = False) -> None:
        """Refuse a body of ``size`` bytes over the limit (``form``: multipart framing allowed).

        Raises:
            UploadError: 413, naming the size and the limit.
        """
        allowed = self.max_bytes + (FORM_OVERHEAD if form else 0)
        if size > allowed:
            raise UploadError(
                413,
                f"upload too large: more than {allowed} bytes (this server takes audio of at "
                f"most {_mb(self.max_bytes)}); send a shorter or compressed recording (FLAC, "
                "OGG), or cut it",
            )

    def check_duration(self, seconds: float) -> None:
        """Refuse audio longer than ``max_duration_s``.

        Raises:
            UploadError: 413, naming the duration and the limit.
        """
        if seconds > self.max_duration_s:
            raise UploadError(
                413,
                f"audio too long: {seconds:.1f} s; this server takes at most "
                f"{self.max_duration_s:g} s per request; cut the recording into parts",
            )

    def to_dict(self) -> dict[str, float]:
        """The limits as JSON (shown by the model-info endpoint)."""
        return {
            "max_bytes": self.max_bytes,
            "max_duration_s": self.max_duration_s,
            "max_queue": self.max_queue,
        }


def media_type(content_type: str | None) -> str:
    """The bare media type of a ``Content-Type`` header, lower case (``""`` when absent).

    >>> media_type("Audio/WAV; charset=binary")
    'audio/wav'
    """
    return (content_type or "").split(";", 1)[0].strip().lower()


def check_type(content_type: str | None, allowed: tuple[str, ...]) -> str:
    """The media type of ``content_type`` if it is one of ``allowed``.

    Raises:
        UploadError: 415, naming the type found and the types accepted.
    """
    found = media_type(content_type)
    if found in allowed:
        return found
    shown = f"content type {found!r}" if found else "no Content-Type header"
    raise UploadError(
        415,
        f"unsupported upload: {shown}; send an audio file (WAV, FLAC, OGG or MP3) as "
        f"the form field 'file' ({FORM_TYPE}) or as the body with its type (audio/wav, "
        "audio/flac, audio/ogg, audio/mpeg), or raw PCM as audio/pcm with ?sample_rate=N",
    )


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:g} MB ({size} bytes)"
