"""Safe extraction of a run's output zip: check everything first, write only inside staging.

An archive is refused as a whole — before a single byte is written — when it is not a valid
zip, when a member fails its CRC check, or when any entry has an absolute path, a drive
letter, a `..` component, or is a symbolic link (Unix mode in `external_attr`). Members
are then written one by one under the staging directory, and each resolved target is
checked again to lie inside it (defence in depth against odd names).
"""

from __future__ import annotations

import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

CHUNK = 1024 * 1024


class UnsafeZipError(Exception):
    """The archive is corrupt or holds an entry that could write outside the target."""


def _member_parts(name: str) -> tuple[str, ...]:
    """The path components of a member name, or UnsafeZipError if it may escape."""
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) >= 2 and normalised[1] == ":"):
        raise UnsafeZipError(f"refused: entry {name!r} has an absolute path")
    parts = tuple(part for part in PurePosixPath(normalised).parts if part not in ("", "."))
    if ".." in parts:
        raise UnsafeZipError(f"refused: entry {name!r} points outside the folder ('..')")
    return parts


def check_zip(path: Path) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """Validate the archive and every entry; the members with their path components."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            bad = archive.testzip()
    # zipfile signals unreadable archives in several ways: BadZipFile for structure,
    # zlib.error for corrupt deflate data, RuntimeError for encrypted members, and
    # NotImplementedError for compression methods it does not support.
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        RuntimeError,
        NotImplementedError,
    ) as exc:
        raise UnsafeZipError(f"not a valid zip archive ({exc})") from None
    if bad is not None:
        raise UnsafeZipError(f"corrupt zip: entry {bad!r} fails its CRC check")
    checked = []
    for info in members:
        parts = _member_parts(info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UnsafeZipError(f"refused: entry {info.filename!r} is a symbolic link")
        if parts:
            checked.append((info, parts))
    return checked


def extract_zip(path: Path, staging: Path) -> int:
    """Extract a checked archive into `staging` (recreated empty); the bytes written."""
    members = check_zip(path)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    root = staging.resolve()
    total = 0
    with zipfile.ZipFile(path) as archive:
        for info, parts in members:
            target = staging.joinpath(*parts)
            if not target.resolve().is_relative_to(root):
                raise UnsafeZipError(
                    f"refused: entry {info.filename!r} resolves outside the folder"
                )
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, open(target, "wb") as sink:
                while chunk := source.read(CHUNK):
                    sink.write(chunk)
                    total += len(chunk)
    return total


def tree_size(path: Path) -> int:
    """Total bytes of the regular files under `path` (symlinks not followed)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
