"""Folders and files that hold personal data or keys (the instance folder, the SQLite
database, uploads, stored documents, the demo PKI) are created for the portal's own
system user alone: folders 0700, files 0600, whatever the process's umask."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: str | Path) -> Path:
    """Create ``path`` and every missing parent as 0700; an existing folder is left as it is
    (its owner may have chosen its mode)."""
    path = Path(path)
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        folder.chmod(PRIVATE_DIR)  # mkdir's mode passes through the umask
    return path


def open_private(path: str | Path, mode: str = "wb") -> IO[Any]:
    """Open ``path`` for writing, creating it 0600 when it does not exist yet."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_FILE)
    return os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8")


def write_private(path: str | Path, content: bytes) -> None:
    with open_private(path) as handle:
        handle.write(content)


def create_private(path: str | Path) -> None:
    """Create an empty 0600 file (and its 0700 folder) unless it exists: SQLite then gives
    its -wal and -shm files the database file's mode."""
    path = Path(path)
    private_dir(path.parent)
    if not path.exists():
        open_private(path, "ab").close()
