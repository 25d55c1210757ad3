"""Bad task files give one clear `TaskFileError` each, never a traceback."""

from __future__ import annotations

import builtins
import os
from pathlib import Path

import pytest

from kbench_tui.taskfile import (
    MAX_TASK_FILE_BYTES,
    TaskFileError,
    read_task_file,
    task_names,
    validate_push,
)

GOOD = '# %%\n@task(name="My Task")\ndef my_task(llm):\n    pass\n'


def one_line_error(path: Path | str) -> str:
    with pytest.raises(TaskFileError) as error:
        read_task_file(path)
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    # No chained exception would be printed under ours.
    assert error.value.__cause__ is None
    assert error.value.__context__ is None or error.value.__suppress_context__
    return message


def test_missing(tmp_path: Path) -> None:
    path = tmp_path / "absent.py"
    assert one_line_error(path) == f"File '{path}' does not exist."


def test_directory(tmp_path: Path) -> None:
    assert one_line_error(tmp_path) == f"'{tmp_path}' is a directory, not a task file."


def test_binary(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert "is binary (a NUL byte at offset 8)" in one_line_error(path)


def test_utf16_is_reported_as_binary(tmp_path: Path) -> None:
    path = tmp_path / "task.py"
    path.write_text(GOOD, encoding="utf-16")
    assert "Save it as UTF-8 text" in one_line_error(path)


def test_non_utf8_names_the_byte_and_where(tmp_path: Path) -> None:
    path = tmp_path / "task.py"
    path.write_bytes(GOOD.encode() + "x = 'café'\n".encode("latin-1"))
    message = one_line_error(path)
    offset = len(GOOD.encode()) + len("x = 'caf")
    assert f"byte 0xe9 at offset {offset} (line 5, column 9)" in message
    assert "not valid UTF-8" in message


def test_too_large(tmp_path: Path) -> None:
    path = tmp_path / "huge.py"
    with path.open("wb") as handle:
        handle.write(b"# padding\n" * (1024 * 1024))  # 10 MB
    message = one_line_error(path)
    assert "is too large (10.0 MB; the limit is 5 MB)" in message


def test_exactly_at_the_limit_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "big.py"
    path.write_bytes(GOOD.encode() + b"#" * (MAX_TASK_FILE_BYTES - len(GOOD.encode())))
    assert task_names(read_task_file(path)) == ["My Task"]


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads a chmod 000 file anyway"
)
def test_unreadable_by_permissions(tmp_path: Path) -> None:
    path = tmp_path / "task.py"
    path.write_text(GOOD)
    path.chmod(0)
    try:
        assert "permission denied" in one_line_error(path)
    finally:
        path.chmod(0o644)


def test_unreadable_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs as root too: the open() that fails is simulated, the error path is real."""
    path = tmp_path / "task.py"
    path.write_text(GOOD)
    real_open = builtins.open

    def refusing_open(file: object, *args: object, **kwargs: object) -> object:
        if os.fspath(file) == str(path):  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", refusing_open)
    assert one_line_error(path) == (
        f"Cannot read '{path}': permission denied. Check the file's permissions."
    )


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "task.py"
    os.mkfifo(path)
    assert one_line_error(path) == f"'{path}' is not a regular file."


def test_dangling_symlink_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "task.py"
    path.symlink_to(tmp_path / "gone.py")
    assert one_line_error(path) == f"File '{path}' does not exist."


def test_crlf_and_cr_read_like_the_cli(tmp_path: Path) -> None:
    for newline in ("\r\n", "\r"):
        path = tmp_path / "task.py"
        path.write_bytes(GOOD.replace("\n", newline).encode())
        assert read_task_file(path) == GOOD


def test_bom_is_kept_and_push_explains_it(tmp_path: Path) -> None:
    path = tmp_path / "task.py"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    text = read_task_file(path)
    assert text.startswith("\ufeff") and task_names(text) == []
    with pytest.raises(TaskFileError, match="byte-order mark"):
        validate_push("my-task", path)


def test_validate_push_reports_read_errors_in_order(tmp_path: Path) -> None:
    """Existence, then the .py suffix, then the content (the CLI's order)."""
    text_file = tmp_path / "notes.txt"
    text_file.write_bytes(b"\x00")
    with pytest.raises(TaskFileError, match=r"must be a Python \(\.py\) file"):
        validate_push("t", text_file)
    binary = tmp_path / "bin.py"
    binary.write_bytes(b"\x00")
    with pytest.raises(TaskFileError, match="is binary"):
        validate_push("t", binary)


def test_read_task_file_does_not_import_jupytext_or_textual() -> None:
    import subprocess
    import sys

    code = (
        "import sys, kbench_tui.taskfile as t, kbench_tui.tasklint as l;"
        "l.lint('@task\\ndef a(llm): pass\\na.run(1)\\n');"
        "print('jupytext' in sys.modules, 'textual' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]
