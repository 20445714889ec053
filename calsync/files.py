"""Private files and folders for what calsync keeps on disk: SQLite databases, the key file.

They hold refresh tokens (encrypted), password hashes and users' calendar data, so they are
made readable by the service's own user only: folders 0700, files 0600, whatever the umask.

Public API: `private_dir`, `private_file`.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create the folder `path` (and its missing parents) with mode 0700; return it.

    A folder that exists already is left as it is (it may be shared on purpose, e.g. the
    current directory), with a warning when other users may read it.
    """
    path = path.expanduser()
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # made by another process meanwhile
        os.chmod(folder, DIR_MODE)  # mkdir's mode is cut by the umask; this one is not
    if not missing and path.is_dir() and path.stat().st_mode & 0o077:
        _LOGGER.warning(
            "%s can be read by other users (mode %o): chmod 700 it to keep calsync's data private",
            path,
            stat.S_IMODE(path.stat().st_mode),
        )
    return path


def private_file(path: Path) -> Path:
    """Create the empty file `path` with mode 0600 unless it exists; return it.

    An existing file of ours that others may read (made by an older calsync) is narrowed
    to 0600; one owned by another user is left alone.
    """
    path = path.expanduser()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        info = path.stat()
        if info.st_mode & 0o077 and info.st_uid == os.getuid():
            _LOGGER.info("narrowing %s to mode 600 (it held mode %o)", path, info.st_mode & 0o777)
            os.chmod(path, FILE_MODE)
    else:
        os.close(fd)
    return path
