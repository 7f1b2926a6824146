"""Archive entry names that are safe to read: shared by every frontend that opens a zip."""

from __future__ import annotations

import re

MAX_NAME = 1024  # longer names are refused (no saver writes them)
_DRIVE = re.compile(r"[A-Za-z]:")


def unsafe_entry_name(name: str) -> bool:
    """True for a name that could escape the archive or hide what it is: path traversal
    (``..``, absolute, drive letters, backslashes), empty or ``.`` parts, control or
    non-printable characters, or an absurd length."""
    parts = name.rstrip("/").split("/")
    return (
        len(name) > MAX_NAME
        or not name.isprintable()
        or "\\" in name
        or name.startswith("/")
        or _DRIVE.match(name) is not None
        or any(p in ("", ".", "..") for p in parts)
    )
