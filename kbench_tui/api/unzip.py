"""Safe extraction of a run's output zip: check everything first, write only inside staging.

Before a single byte is written, an archive is refused as a whole when it is not a valid
zip, when a member is encrypted, or when any entry has an absolute path, a drive letter, a
`..` component, or is a symbolic link (Unix mode in `external_attr`). Members are then
written one by one under the staging directory, each resolved target checked again to lie
inside it (defence in depth against odd names), and each member's CRC-32 is verified as it
is extracted: a mismatch (or any other damage found while reading) deletes the staging
directory and refuses the archive, so a corrupt zip still leaves nothing behind.

Verifying while extracting reads the archive once instead of twice (`testzip()` first,
then the extraction, was two full passes). Stored members - the bulk of a large output -
are checked by reading them into one reused buffer and then copied by the kernel
(`os.copy_file_range`, falling back to plain reads and writes), so their bytes never pass
through Python objects; compressed members go through `zipfile`, which checks their CRC.
`check_zip` still verifies every CRC without extracting anything.
"""

from __future__ import annotations

import os
import shutil
import stat
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath

CHUNK = 1024 * 1024
_LOCAL_HEADER = b"PK\x03\x04"
_LOCAL_HEADER_SIZE = 30
_UTF8_NAME = 0x800
_ENCRYPTED = 0x1
# zipfile signals unreadable archives in several ways: BadZipFile for structure,
# zlib.error for corrupt deflate data, RuntimeError for encrypted members, and
# NotImplementedError for compression methods it does not support.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    RuntimeError,
    NotImplementedError,
)


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


def _checked_members(
    archive: zipfile.ZipFile,
) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """Every entry's path components; UnsafeZipError for one that must not be written."""
    checked = []
    for info in archive.infolist():
        parts = _member_parts(info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UnsafeZipError(f"refused: entry {info.filename!r} is a symbolic link")
        if info.flag_bits & _ENCRYPTED:
            raise UnsafeZipError(f"not a valid zip archive (entry {info.filename!r} is encrypted)")
        if parts:
            checked.append((info, parts))
    return checked


def check_zip(path: Path) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """Validate the archive and every entry, CRCs included; the members with their paths."""
    try:
        with zipfile.ZipFile(path) as archive:
            checked = _checked_members(archive)
            bad = archive.testzip()
    except _ZIP_ERRORS as exc:
        raise UnsafeZipError(f"not a valid zip archive ({exc})") from None
    if bad is not None:
        raise UnsafeZipError(f"corrupt zip: entry {bad!r} fails its CRC check")
    return checked


def extract_zip(path: Path, staging: Path) -> int:
    """Extract the archive into `staging` (recreated empty), verifying it; the bytes written.

    On any refusal `staging` does not exist afterwards; see the module docstring.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = _checked_members(archive)
            if staging.exists():
                shutil.rmtree(staging)
            staging.mkdir(parents=True)
            try:
                return _extract_members(archive, path, members, staging)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    except _ZIP_ERRORS as exc:
        raise UnsafeZipError(f"not a valid zip archive ({exc})") from None


def _extract_members(
    archive: zipfile.ZipFile,
    path: Path,
    members: list[tuple[zipfile.ZipInfo, tuple[str, ...]]],
    staging: Path,
) -> int:
    root = staging.resolve()
    buffer = memoryview(bytearray(CHUNK))
    total = 0
    with open(path, "rb", buffering=0) as raw:
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
            with open(target, "wb", buffering=0) as sink:
                if info.compress_type == zipfile.ZIP_STORED:
                    total += _copy_stored(raw, info, sink, buffer)
                else:
                    total += _copy_compressed(archive, info, sink)
    return total


def _copy_compressed(archive: zipfile.ZipFile, info: zipfile.ZipInfo, sink) -> int:
    """Decompress through zipfile, which raises BadZipFile at the end on a CRC mismatch."""
    written = 0
    try:
        with archive.open(info) as source:
            while chunk := source.read(CHUNK):
                _write_all(sink, memoryview(chunk))
                written += len(chunk)
    except zipfile.BadZipFile as exc:
        if "CRC" in str(exc):
            raise UnsafeZipError(
                f"corrupt zip: entry {info.filename!r} fails its CRC check"
            ) from None
        raise
    return written


def _data_offset(raw, info: zipfile.ZipInfo) -> int:
    """Where a member's bytes start: after its local header, which must name the same entry."""
    raw.seek(info.header_offset)
    header = raw.read(_LOCAL_HEADER_SIZE)
    if len(header) != _LOCAL_HEADER_SIZE or header[:4] != _LOCAL_HEADER:
        raise zipfile.BadZipFile(f"bad local header for entry {info.filename!r}")
    flags = struct.unpack("<H", header[6:8])[0]
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    name = raw.read(name_length)
    try:
        decoded = name.decode("utf-8" if flags & _UTF8_NAME else "cp437")
    except UnicodeDecodeError:
        decoded = None
    if decoded != info.orig_filename:
        # zipfile refuses this too: entries sharing bytes are how some zip bombs work.
        raise zipfile.BadZipFile(f"entry {info.filename!r} and its local header differ")
    return info.header_offset + _LOCAL_HEADER_SIZE + name_length + extra_length


def _copy_stored(raw, info: zipfile.ZipInfo, sink, buffer: memoryview) -> int:
    """Verify an uncompressed member's CRC from the archive, then copy its bytes as they are."""
    size = info.compress_size
    if info.file_size != size:
        raise zipfile.BadZipFile(f"entry {info.filename!r} is stored with two sizes")
    start = _data_offset(raw, info)
    crc = 0
    remaining = size
    raw.seek(start)
    while remaining:
        read = raw.readinto(buffer[: min(len(buffer), remaining)])
        if not read:
            raise zipfile.BadZipFile(f"entry {info.filename!r} is truncated")
        crc = zlib.crc32(buffer[:read], crc)
        remaining -= read
    if crc != info.CRC:
        raise UnsafeZipError(f"corrupt zip: entry {info.filename!r} fails its CRC check")
    copied = _kernel_copy(raw.fileno(), sink.fileno(), start, size)
    raw.seek(start + copied)
    while copied < size:
        read = raw.readinto(buffer[: min(len(buffer), size - copied)])
        if not read:
            raise zipfile.BadZipFile(f"entry {info.filename!r} is truncated")
        _write_all(sink, buffer[:read])
        copied += read
    return size


def _write_all(sink, data: memoryview) -> None:
    """An unbuffered write may take less than it was given."""
    done = 0
    while done < len(data):
        done += sink.write(data[done:])


def _kernel_copy(source: int, sink: int, offset: int, size: int) -> int:
    """Bytes copied with `os.copy_file_range` (0 where it is missing or refused)."""
    copy_file_range = getattr(os, "copy_file_range", None)
    copied = 0
    if copy_file_range is None:
        return 0
    try:
        while copied < size:
            # The sink's own position is used and advanced, so a fallback continues it.
            count = copy_file_range(source, sink, size - copied, offset + copied)
            if count == 0:
                break
            copied += count
    except OSError:
        # e.g. a filesystem or kernel without it: the rest goes through the buffer.
        return copied
    return copied


def tree_size(path: Path) -> int:
    """Total bytes of the regular files under `path` (symlinks not followed)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
