"""Extraction of run outputs: CRCs verified while extracting, kernel copy and its fallback."""

from __future__ import annotations

import io
import os
import random
import zipfile
from pathlib import Path

import pytest

from kbench_tui.api import unzip
from kbench_tui.api.unzip import UnsafeZipError, extract_zip

BIG = random.Random(7).randbytes(3 * unzip.CHUNK + 12_345)  # spans several buffers
SMALL = b'{"state": "COMPLETED"}\n' * 500


def build(entries: dict[str, tuple[bytes, int]]) -> bytes:
    """A zip of name -> (data, compression), written the way the simulator writes outputs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, (data, method) in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buffer.getvalue()


MIXED = {
    "a.run.json": (SMALL, zipfile.ZIP_DEFLATED),
    "padding.bin": (BIG, zipfile.ZIP_STORED),
    "sub/empty.txt": (b"", zipfile.ZIP_STORED),
    "sub/notes.txt": (b"hello", zipfile.ZIP_STORED),
}


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "run.zip"
    path.write_bytes(data)
    return path


def test_extraction_is_byte_identical_for_stored_and_deflated_members(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    (staging / "stale").mkdir(parents=True)  # a previous attempt's leftovers are replaced
    written = extract_zip(write(tmp_path, build(MIXED)), staging)
    expected = {name: data for name, (data, _) in MIXED.items()}
    assert files_under(staging) == expected
    assert written == sum(len(data) for data in expected.values())


@pytest.mark.parametrize(
    "copy_file_range",
    ["missing", "refused", "refused-half-way", "short-then-eof"],
)
def test_without_a_working_kernel_copy_the_bytes_are_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, copy_file_range: str
) -> None:
    real = getattr(os, "copy_file_range", None)
    calls: list[int] = []

    def refused(source: int, sink: int, count: int, offset: int) -> int:
        calls.append(count)
        if copy_file_range == "refused" or real is None or len(calls) > 1:
            raise OSError(95, "Operation not supported")
        return real(source, sink, min(count, 1000), offset)

    def short(source: int, sink: int, count: int, offset: int) -> int:
        calls.append(count)
        if real is None or len(calls) > 1:
            return 0  # as at an unexpected end of file: the buffer path carries on
        return real(source, sink, min(count, 4096), offset)

    if copy_file_range == "missing":
        monkeypatch.delattr(os, "copy_file_range", raising=False)
    else:
        chosen = short if copy_file_range == "short-then-eof" else refused
        monkeypatch.setattr(os, "copy_file_range", chosen, raising=False)
    staging = tmp_path / "staging"
    extract_zip(write(tmp_path, build(MIXED)), staging)
    assert files_under(staging) == {name: data for name, (data, _) in MIXED.items()}
    assert (copy_file_range == "missing") == (not calls)


def central_entry(data: bytes | bytearray, name: str) -> int:
    """Offset of `name`'s central directory header (its file name starts 46 bytes in)."""
    return data.index(name.encode(), data.index(b"PK\x01\x02")) - 46


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_crc_mismatch_found_while_extracting_leaves_nothing(tmp_path: Path, method: int) -> None:
    entries = {"first.txt": (b"fine", zipfile.ZIP_STORED), "bad.bin": (BIG, method)}
    data = bytearray(build(entries))
    data[central_entry(data, "bad.bin") + 16] ^= 0xFF  # the CRC-32 the directory records
    path = write(tmp_path, bytes(data))
    before = set(tmp_path.rglob("*"))
    staging = tmp_path / "staging"
    with pytest.raises(UnsafeZipError, match=r"corrupt zip: entry 'bad\.bin' fails its CRC check"):
        extract_zip(path, staging)
    assert not staging.exists()
    assert set(tmp_path.rglob("*")) == before


def test_a_damaged_stored_member_is_refused(tmp_path: Path) -> None:
    data = bytearray(build(MIXED))
    data[data.index(BIG[1000:1100]) + 50] ^= 0x01  # the bytes, not the recorded CRC
    with pytest.raises(UnsafeZipError, match=r"'padding\.bin' fails its CRC check"):
        extract_zip(write(tmp_path, bytes(data)), tmp_path / "staging")
    assert not (tmp_path / "staging").exists()


def test_encrypted_members_are_refused_before_writing(tmp_path: Path) -> None:
    data = bytearray(build({"secret.txt": (b"x" * 100, zipfile.ZIP_STORED)}))
    data[central_entry(data, "secret.txt") + 8] |= 0x01  # general purpose flag: encrypted
    with pytest.raises(UnsafeZipError, match="encrypted"):
        extract_zip(write(tmp_path, bytes(data)), tmp_path / "staging")
    assert not (tmp_path / "staging").exists()


def test_a_local_header_naming_another_entry_is_refused(tmp_path: Path) -> None:
    data = bytearray(build({"aaaa.bin": (BIG[:5000], zipfile.ZIP_STORED)}))
    local = data.index(b"PK\x03\x04")
    data[local + 30 : local + 34] = b"bbbb"  # the local name only; the directory keeps aaaa
    with pytest.raises(UnsafeZipError, match="not a valid zip archive"):
        extract_zip(write(tmp_path, bytes(data)), tmp_path / "staging")
    assert not (tmp_path / "staging").exists()


def test_a_member_running_past_the_end_is_refused(tmp_path: Path) -> None:
    data = bytearray(build({"padding.bin": (BIG, zipfile.ZIP_STORED)}))
    entry = central_entry(data, "padding.bin")
    claimed = (len(BIG) + 10_000_000).to_bytes(4, "little")
    data[entry + 20 : entry + 28] = claimed + claimed  # compressed and uncompressed sizes
    with pytest.raises(UnsafeZipError, match=r"'padding\.bin' is truncated"):
        extract_zip(write(tmp_path, bytes(data)), tmp_path / "staging")
    assert not (tmp_path / "staging").exists()
