"""Large stored zip members written straight into their files while the archive arrives.

A run's output is mostly one or two large members stored uncompressed. Saving the archive
and then extracting it wrote each of their bytes to the page cache twice (the `.part`,
then the member file) and read them once more for the CRC. `Splitter` follows the local
headers of the bytes as they arrive and writes the data of each large stored member into
its own file in the staging directory, computing its CRC on the way. The `.part` gets a
hole of the same length there, so everything else (headers, compressed members, the
central directory) stays at its offset.

After the last byte, `extract_received` checks the archive against its central directory
as `extract_zip` does (unzip.py). A member written here is accepted as extracted only if
its entry points at the same local header, with the same name, path and size, stored, and
its CRC matches; the other members are extracted from the archive the ordinary way.

Nothing unusual is guessed at. When a local entry is missing from the central directory,
a name is used twice, or a member is not what its local header said, the bytes are poured
back into the archive (`Splitter.pour_back`), which is then exactly what arrived, and it
is extracted the ordinary way. The same happens when the archive is refused, so the kept
`<run_id>.zip` is the real one. A cut download pours back before it resumes, so between
attempts a `.part` is a plain prefix of the archive.
"""

from __future__ import annotations

import os
import shutil
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kbench_tui.api.unzip import (
    _ZIP_ERRORS,
    UnsafeZipError,
    _checked_members,
    _extract_members,
    _member_parts,
    extract_zip,
)

__all__ = ["DIVERT_AT_LEAST", "Splitter", "extract_received"]

DIVERT_AT_LEAST = 256 * 1024
"""Smaller members are not worth a file opened while the bytes arrive."""
_LOCAL = struct.Struct("<4sHHHHHIIIHH")  # signature ... name length, extra length
_SIGNATURE = b"PK\x03\x04"
_ENCRYPTED = 0x1
_DATA_DESCRIPTOR = 0x8
_UTF8_NAME = 0x800
_ZIP64 = 0xFFFFFFFF
_COPY = 1024 * 1024


@dataclass
class Member:
    """A stored member whose bytes went to `staging/<parts>` instead of the archive."""

    header_offset: int
    name: str
    parts: tuple[str, ...]
    start: int
    size: int
    written: int = 0
    crc: int = 0


class Splitter:
    """Takes the archive's bytes in order from offset 0; see the module docstring."""

    def __init__(self, part: BinaryIO, staging: Path, *, at_least: int = DIVERT_AT_LEAST):
        self.part = part
        self.staging = staging
        self.at_least = at_least
        self.members: list[Member] = []
        self.position = 0
        self._header = bytearray()
        self._need = _LOCAL.size
        self._data_left = 0
        self._current: Member | None = None
        self._fd = -1
        self._following = True
        self._root: Path | None = None

    def write(self, chunk: bytes | memoryview) -> None:
        view = memoryview(chunk)
        while view:
            if not self._following:
                self._plain(view)
                return
            if self._data_left:
                piece = view[: self._data_left]
                if self._current is None:
                    self._plain(piece)
                else:
                    self._divert(piece)
                self._data_left -= len(piece)
                view = view[len(piece) :]
                if not self._data_left:
                    self._close_member()
                continue
            piece = view[: self._need]
            self._header += piece
            self._plain(piece)
            view = view[len(piece) :]
            self._need -= len(piece)
            if not self._need:
                self._header_read()

    def end(self) -> None:
        """Every byte is in: close the member being written, give the `.part` its length."""
        self._close_member()
        if self.members:
            self.part.truncate(self.position)  # it may end in a hole

    def _plain(self, piece: memoryview) -> None:
        self.part.write(piece)
        self.position += len(piece)

    def _divert(self, piece: memoryview) -> None:
        member = self._current
        assert member is not None
        done = 0
        while done < len(piece):
            done += os.write(self._fd, piece[done:])
        member.crc = zlib.crc32(piece, member.crc)
        member.written += len(piece)
        self.part.seek(len(piece), os.SEEK_CUR)
        self.position += len(piece)

    def _close_member(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._current = None

    def _header_read(self) -> None:
        header = self._header
        (signature, _, flags, method, _, _, _, size, file_size, name_length, extra_length) = (
            _LOCAL.unpack_from(header)
        )
        if signature != _SIGNATURE:
            self._following = False  # the central directory, or not a zip: bytes as they come
            return
        if len(header) == _LOCAL.size and name_length + extra_length:
            self._need = name_length + extra_length
            return
        if flags & _DATA_DESCRIPTOR or _ZIP64 in (size, file_size):
            self._following = False  # where the data ends is not in this header
            return
        name = bytes(header[_LOCAL.size : _LOCAL.size + name_length])
        stored = method == zipfile.ZIP_STORED and not flags & _ENCRYPTED and size == file_size
        large = size >= max(self.at_least, 1)
        self._current = self._open_member(name, flags, size) if stored and large else None
        self._header.clear()
        self._need = _LOCAL.size
        self._data_left = size

    def _open_member(self, raw_name: bytes, flags: int, size: int) -> Member | None:
        """The member to write into, or None to keep its bytes in the archive."""
        header_offset = self.position - len(self._header)
        try:
            name = raw_name.decode("utf-8" if flags & _UTF8_NAME else "cp437")
            parts = _member_parts(name)
        except (UnicodeDecodeError, UnsafeZipError):
            return None
        if not parts or name.endswith("/") or "\0" in name:
            return None  # zipfile cuts a name at NUL: the central directory decides
        target = self.staging.joinpath(*parts)
        try:
            if self._root is None:
                if self.staging.exists():
                    shutil.rmtree(self.staging)  # a previous attempt's leftovers
                self.staging.mkdir()
                self._root = self.staging.resolve()
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.resolve().is_relative_to(self._root):
                return None
            # O_EXCL: a name met before (also under another case) keeps its bytes in the
            # archive, and the central directory decides between them.
            self._fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except (OSError, ValueError):
            return None
        member = Member(header_offset, name, parts, self.position, size)
        self.members.append(member)
        return member

    def pour_back(self, archive: Path) -> None:
        """Write every diverted byte back at its offset in `archive`; remove the staging.

        Afterwards `archive` holds exactly the bytes received. If a member cannot be put
        back (a full disk), `archive` is cut where that member starts, so it is still a
        plain prefix of what arrived, and the error is raised; if even that fails,
        `archive` is deleted: a file with holes must never pass for the archive.
        """
        self._close_member()
        try:
            if self.members:
                self._write_back(archive)
        finally:
            if self._root is not None:
                shutil.rmtree(self.staging, ignore_errors=True)
            self._root = None
            self.members.clear()

    def _write_back(self, archive: Path) -> None:
        member = None
        try:
            with open(archive, "r+b", buffering=0) as sink:
                for member in sorted(self.members, key=lambda m: m.start):
                    with open(self.staging.joinpath(*member.parts), "rb", buffering=0) as source:
                        _copy_at(source.fileno(), sink.fileno(), member.start, member.written)
        except OSError:
            # Cut where the first member not put back starts: a plain prefix.
            cut = member.start if member is not None else min(m.start for m in self.members)
            try:
                os.truncate(archive, cut)
            except OSError:
                archive.unlink(missing_ok=True)
            raise


def _copy_at(source: int, sink: int, offset: int, size: int) -> None:
    """`size` bytes from the start of `source` to `offset` in `sink`."""
    done = 0
    copy_file_range = getattr(os, "copy_file_range", None)
    if copy_file_range is not None:
        try:
            while done < size:
                count = copy_file_range(source, sink, size - done, done, offset + done)
                if not count:
                    break
                done += count
        except OSError:
            pass  # not supported here: the rest goes through a buffer
    while done < size:
        data = os.pread(source, min(_COPY, size - done), done)
        if not data:
            raise OSError(f"a member file is shorter than its {size} bytes")
        written = 0
        while written < len(data):
            written += os.pwrite(sink, data[written:], offset + done + written)
        done += len(data)


def extract_received(archive: Path, staging: Path, split: Splitter | None) -> int:
    """Extract a downloaded archive into `staging`, verified; the bytes written.

    Like `extract_zip`, on any refusal `staging` does not exist afterwards, and `archive`
    then holds every byte received.
    """
    if split is None or not split.members:
        return extract_zip(archive, staging)
    try:
        written = _extract_split(archive, staging, split)
    except _ZIP_ERRORS as exc:
        _restore(archive, split)
        raise UnsafeZipError(f"not a valid zip archive ({exc})") from None
    except BaseException:
        _restore(archive, split)
        raise
    if written is None:
        _restore(archive, split)
        return extract_zip(archive, staging)
    return written


def _restore(archive: Path, split: Splitter) -> None:
    """The archive as received, or none: a shortened one is of no use once complete."""
    try:
        split.pour_back(archive)
    except OSError:
        archive.unlink(missing_ok=True)
        raise


def _key(parts: tuple[str, ...]) -> str:
    """Names that may land on the same file on some filesystem."""
    return unicodedata.normalize("NFC", "/".join(parts)).casefold()


def _extract_split(archive: Path, staging: Path, split: Splitter) -> int | None:
    """The bytes written, or None if the archive is not what the splitter expected."""
    with zipfile.ZipFile(archive) as opened:
        members = _checked_members(opened)
        keys = [_key(parts) for info, parts in members if not info.is_dir()]
        if len(set(keys)) != len(keys):
            return None
        diverted = {member.header_offset: member for member in split.members}
        claimed: set[int] = set()
        for info, parts in members:
            member = diverted.get(info.header_offset)
            if member is None:
                continue
            if (
                info.header_offset in claimed
                or info.is_dir()
                or info.compress_type != zipfile.ZIP_STORED
                or info.orig_filename != member.name
                or parts != member.parts
                or info.compress_size != member.size
                or info.file_size != member.size
                or member.written != member.size
            ):
                return None
            if member.crc != info.CRC:
                raise UnsafeZipError(f"corrupt zip: entry {info.filename!r} fails its CRC check")
            claimed.add(info.header_offset)
        if len(claimed) != len(split.members):
            return None  # a local entry the central directory does not list
        rest = [(info, parts) for info, parts in members if info.header_offset not in claimed]
        holes = [(member.start, member.start + member.written) for member in split.members]
        with open(archive, "rb") as raw:
            for info, _ in rest:
                start, end = _span(raw, info)
                if any(start < hole_end and hole_start < end for hole_start, hole_end in holes):
                    return None  # entries sharing bytes: read them as they arrived
        written = _extract_members(opened, archive, rest, staging)
    return written + sum(member.size for member in split.members)


def _span(raw: BinaryIO, info: zipfile.ZipInfo) -> tuple[int, int]:
    """Where an entry's local header and data lie, as far as the archive tells."""
    raw.seek(info.header_offset)
    header = raw.read(_LOCAL.size)
    if len(header) < _LOCAL.size:
        return info.header_offset, info.header_offset + _LOCAL.size
    name_length, extra_length = _LOCAL.unpack(header)[-2:]
    end = info.header_offset + _LOCAL.size + name_length + extra_length + info.compress_size
    return info.header_offset, end
