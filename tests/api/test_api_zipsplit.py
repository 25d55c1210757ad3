"""Large stored members written straight into staging while the archive arrives.

Every case compares with what `zipfile` itself extracts from the bytes as they arrived, and
checks that the archive left on disk after a refusal or a cut is exactly those bytes.
"""

from __future__ import annotations

import io
import random
import stat
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from kbench_tui.api.unzip import UnsafeZipError
from kbench_tui.api.zipsplit import Splitter, extract_received

BIG = random.Random(11).randbytes(300_000)
OTHER = random.Random(12).randbytes(200_000)
AT_LEAST = 100_000


def build(entries: list[tuple[str, bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, method in entries:
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buffer.getvalue()


MIXED = build(
    [
        ("a.run.json", b'{"state": "COMPLETED"}\n' * 5000, zipfile.ZIP_DEFLATED),
        ("padding.bin", BIG, zipfile.ZIP_STORED),
        ("sub/", b"", zipfile.ZIP_STORED),
        ("sub/small.txt", b"hello", zipfile.ZIP_STORED),
        ("sub/other.bin", OTHER, zipfile.ZIP_STORED),
        ("squeezed.bin", b"z" * 300_000, zipfile.ZIP_DEFLATED),
    ]
)


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def expected_files(data: bytes, tmp_path: Path) -> dict[str, bytes]:
    """What zipfile itself extracts from these bytes."""
    reference = tmp_path / "reference"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(reference)
    return files_under(reference)


def receive(
    tmp_path: Path, data: bytes, chunk: int = 65_536, *, until: int | None = None
) -> tuple[Splitter, Path, Path]:
    """Feed `data` (up to `until`) through a Splitter as a download would."""
    part, staging = tmp_path / "901.zip.part", tmp_path / "901.download"
    end = len(data) if until is None else until
    with open(part, "wb") as sink:
        splitter = Splitter(sink, staging, at_least=AT_LEAST)
        for start in range(0, end, chunk):
            splitter.write(memoryview(data)[start : min(start + chunk, end)])
        if until is None:
            splitter.end()
    return splitter, part, staging


@pytest.mark.parametrize("chunk", [1, 29, 4096, 65_537, len(MIXED)])
def test_large_stored_members_go_straight_to_their_files(tmp_path: Path, chunk: int) -> None:
    splitter, part, staging = receive(tmp_path, MIXED, chunk if chunk > 1 else 1)
    assert [m.name for m in splitter.members] == ["padding.bin", "sub/other.bin"]
    assert part.stat().st_size == len(MIXED)
    member = splitter.members[0]
    # The archive holds a hole where the member's bytes would be; everything else is there.
    assert part.read_bytes()[member.start : member.start + member.size] == bytes(member.size)
    assert files_under(staging) == {"padding.bin": BIG, "sub/other.bin": OTHER}
    written = extract_received(part, staging, splitter)
    expected = expected_files(MIXED, tmp_path)
    assert files_under(staging) == expected
    assert written == sum(len(data) for data in expected.values())


def test_without_large_stored_members_it_is_the_ordinary_extraction(tmp_path: Path) -> None:
    data = build([("a.txt", b"x" * 1000, zipfile.ZIP_STORED)])
    splitter, part, staging = receive(tmp_path, data)
    assert splitter.members == [] and not staging.exists()
    assert part.read_bytes() == data
    extract_received(part, staging, splitter)
    assert files_under(staging) == {"a.txt": b"x" * 1000}


def test_a_cut_pours_the_bytes_back_into_a_plain_prefix(tmp_path: Path) -> None:
    member_start = MIXED.index(BIG)
    for until in (member_start + 1000, member_start + len(BIG) + 10, len(MIXED) - 5):
        splitter, part, staging = receive(tmp_path, MIXED, 7000, until=until)
        assert splitter.members
        splitter.pour_back(part)
        assert part.read_bytes() == MIXED[:until]
        assert not staging.exists()
        part.unlink()


def test_a_damaged_member_is_refused_and_the_archive_kept_as_received(tmp_path: Path) -> None:
    damaged = bytearray(MIXED)
    damaged[MIXED.index(BIG) + 12_345] ^= 0xFF
    splitter, part, staging = receive(tmp_path, bytes(damaged))
    with pytest.raises(UnsafeZipError, match="CRC"):
        extract_received(part, staging, splitter)
    assert not staging.exists()
    assert part.read_bytes() == bytes(damaged)


def test_a_local_entry_the_directory_does_not_list_is_not_extracted(tmp_path: Path) -> None:
    """zipfile reads only the central directory: bytes before it are not members."""
    hidden = build([("hidden.bin", OTHER, zipfile.ZIP_STORED)])
    local_only = hidden[: hidden.index(b"PK\x01\x02")]
    data = local_only + MIXED
    splitter, part, staging = receive(tmp_path, data)
    assert "hidden.bin" in [m.name for m in splitter.members]
    extract_received(part, staging, splitter)
    assert files_under(staging) == expected_files(data, tmp_path)
    assert "hidden.bin" not in files_under(staging)


def test_a_name_used_twice_is_extracted_as_zipfile_does(tmp_path: Path) -> None:
    """The same name twice, or names only a case-insensitive filesystem would confuse."""
    cased = build([("x.bin", BIG, zipfile.ZIP_STORED), ("X.bin", OTHER, zipfile.ZIP_STORED)])
    with pytest.warns(UserWarning, match="Duplicate name"):
        twice = build([("x.bin", BIG, zipfile.ZIP_STORED), ("x.bin", OTHER, zipfile.ZIP_STORED)])
    for index, archive in enumerate((cased, twice)):
        box = tmp_path / str(index)
        box.mkdir()
        splitter, part, staging = receive(box, archive)
        if archive is twice:
            assert len(splitter.members) == 1  # the second meets the first's file
        extract_received(part, staging, splitter)
        assert files_under(staging) == expected_files(archive, box)
        assert part.read_bytes() == archive  # poured back before the ordinary extraction


class _Unseekable(io.RawIOBase):
    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[override]
        self.data += b
        return len(b)


def test_members_with_a_data_descriptor_stay_in_the_archive(tmp_path: Path) -> None:
    sink = _Unseekable()
    with zipfile.ZipFile(sink, "w") as archive:  # unseekable: sizes come after the data
        archive.writestr("padding.bin", BIG)
    data = bytes(sink.data)
    splitter, part, staging = receive(tmp_path, data)
    assert splitter.members == []
    extract_received(part, staging, splitter)
    assert files_under(staging) == {"padding.bin": BIG}


@pytest.mark.parametrize(("name", "reason"), [("../evil.bin", "'..'"), ("/abs.bin", "absolute")])
def test_unsafe_names_are_never_written_outside(tmp_path: Path, name: str, reason: str) -> None:
    data = build([(name, BIG, zipfile.ZIP_STORED)])
    box = tmp_path / "box"
    box.mkdir()
    splitter, part, staging = receive(box, data)
    assert splitter.members == []
    with pytest.raises(UnsafeZipError, match=reason):
        extract_received(part, staging, splitter)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["901.zip.part", "box"]


def test_a_member_the_directory_calls_a_symlink_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, BIG, compress_type=zipfile.ZIP_STORED)
    data = buffer.getvalue()
    splitter, part, staging = receive(tmp_path, data)
    assert [m.name for m in splitter.members] == ["link"]  # the local header cannot tell
    with pytest.raises(UnsafeZipError, match="symbolic link"):
        extract_received(part, staging, splitter)
    assert not staging.exists()
    assert part.read_bytes() == data


def test_a_failed_pour_back_cuts_the_archive_to_a_plain_prefix(tmp_path: Path) -> None:
    """A full disk while putting bytes back: what is kept can still be resumed."""
    splitter, part, staging = receive(tmp_path, MIXED)
    (staging / "sub" / "other.bin").unlink()  # its bytes cannot be put back
    with pytest.raises(OSError):
        splitter.pour_back(part)
    assert part.read_bytes() == MIXED[: MIXED.index(OTHER)]
    assert not staging.exists()


def test_a_failed_pour_back_of_a_complete_archive_removes_it(tmp_path: Path) -> None:
    damaged = bytearray(MIXED)
    damaged[MIXED.index(BIG) + 5] ^= 0xFF  # refused: its bytes go back into the archive
    splitter, part, staging = receive(tmp_path, bytes(damaged))
    (staging / "padding.bin").unlink()
    with pytest.raises(OSError):
        extract_received(part, staging, splitter)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_previous_attempts_staging_is_replaced(tmp_path: Path) -> None:
    staging = tmp_path / "901.download"
    (staging / "stale").mkdir(parents=True)
    (staging / "padding.bin").write_bytes(b"old")
    splitter, part, staging = receive(tmp_path, MIXED)
    extract_received(part, staging, splitter)
    assert files_under(staging) == expected_files(MIXED, tmp_path)


# Hand-made archives: what zipfile would never write, but a server could send.
def local(name: bytes, data: bytes, *, size: int | None = None) -> bytes:
    size = len(data) if size is None else size
    crc = zlib.crc32(data)
    return (
        struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, size, size, len(name), 0)
        + name
    )


def central(name: bytes, crc: int, size: int, offset: int) -> bytes:
    return (
        struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            20,
            20,
            0,
            0,
            0,
            0,
            crc,
            size,
            size,
            len(name),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        + name
    )


def end_record(count: int, directory: bytes, offset: int) -> bytes:
    return struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(directory), offset, 0)


def test_an_entry_sharing_a_members_bytes_is_read_as_they_arrived(tmp_path: Path) -> None:
    """B's local header says 0 bytes; the directory says B's data is A's header and data.

    Read from the archive with A's bytes gone to A's file, B would be A's header and
    zeros, and a CRC made for that would match: the bytes are put back first, and the
    archive is refused as `extract_zip` refuses the bytes served.
    """
    b_local = local(b"b", b"", size=0)
    a_local = local(b"a", BIG)
    claimed = a_local + bytes(len(BIG))  # B's bytes as a `.part` with a hole would give
    directory = central(b"b", zlib.crc32(claimed), len(claimed), 0) + central(
        b"a", zlib.crc32(BIG), len(BIG), len(b_local)
    )
    body = b_local + a_local + BIG
    data = body + directory + end_record(2, directory, len(body))
    splitter, part, staging = receive(tmp_path, data)
    assert [m.name for m in splitter.members] == ["a"]
    with pytest.raises(UnsafeZipError, match="CRC"):
        extract_received(part, staging, splitter)
    assert part.read_bytes() == data and not staging.exists()


def test_a_name_with_a_nul_is_left_to_zipfile(tmp_path: Path) -> None:
    name = b"a\x00x"
    directory = central(name, zlib.crc32(BIG), len(BIG), 0)
    body = local(name, BIG) + BIG
    data = body + directory + end_record(1, directory, len(body))
    splitter, part, staging = receive(tmp_path, data)
    assert splitter.members == []
    extract_received(part, staging, splitter)
    assert files_under(staging) == expected_files(data, tmp_path) == {"a": BIG}


def test_a_cut_leaves_no_staging_when_no_member_was_opened(tmp_path: Path) -> None:
    data = build([("x.bin", BIG, zipfile.ZIP_STORED), ("x.bin/y", OTHER, zipfile.ZIP_STORED)])
    splitter, part, staging = receive(tmp_path, data, until=len(data) - 10)
    splitter.pour_back(part)
    assert part.read_bytes() == data[:-10] and not staging.exists()
    # A name no filesystem takes: the staging directory was made, the file never opened.
    second = build([("a" * 300 + ".bin", BIG, zipfile.ZIP_STORED)])
    splitter, part, staging = receive(tmp_path, second, until=len(second) - 10)
    assert splitter.members == [] and staging.exists()
    splitter.pour_back(part)
    assert part.read_bytes() == second[:-10] and not staging.exists()
