"""Which evidence files are kept, judged by their content, never by a declared type.

A resident's photo, video, voice note or document is kept only when its first bytes say it
is one of the types below (the `filetype` library reads the signatures). A declared
``Content-Type`` or file name is ignored: an HTML page called ``photo.jpg`` is refused, so
nothing an officer downloads can run in their browser.
"""

from __future__ import annotations

from dataclasses import dataclass

import filetype

# MIME type -> the extension a downloaded copy is given.
ALLOWED: dict[str, str] = {
    "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
    "image/heic": "heic", "image/heif": "heif", "image/bmp": "bmp", "image/tiff": "tif",
    "application/pdf": "pdf",
    "video/mp4": "mp4", "video/3gpp": "3gp", "video/quicktime": "mov", "video/webm": "webm",
    "video/x-m4v": "m4v",
    "audio/mpeg": "mp3", "audio/mp4": "m4a", "audio/x-m4a": "m4a", "audio/m4a": "m4a",
    "audio/ogg": "ogg", "audio/amr": "amr", "audio/aac": "aac", "audio/x-wav": "wav",
    "audio/wav": "wav", "audio/webm": "webm", "audio/3gpp": "3gp", "audio/opus": "opus",
}

# What `filetype` reports for some of these, mapped to the name kept on the evidence row.
_CANONICAL = {"audio/x-wav": "audio/wav", "audio/x-m4a": "audio/mp4", "audio/m4a": "audio/mp4",
              "video/x-m4v": "video/mp4"}


@dataclass(frozen=True)
class Kind:
    """A file type that is kept: its MIME type and the extension for a download."""

    mime: str
    extension: str


def sniff(data: bytes) -> Kind | None:
    """Return the kept type that `data` really is, or None when it is not one we keep."""
    found = filetype.guess(data[:8192]) if data else None
    if found is None:
        return None
    mime = _CANONICAL.get(found.mime, found.mime)
    if mime not in ALLOWED:
        return None
    return Kind(mime, ALLOWED[mime])


def download_name(reference: str, number: int, mime: str) -> str:
    """A safe file name for an officer's download: only the reference, a number and the
    extension of a kept type (``application/octet-stream`` gets ``.bin``)."""
    extension = ALLOWED.get((mime or "").lower(), "bin")
    safe = "".join(c for c in reference if c.isalnum() or c == "-") or "evidence"
    return f"{safe}-{number}.{extension}"
