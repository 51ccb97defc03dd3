"""Machine output of records: JSON, JSON Lines and CSV (spreadsheet-safe), to a stream or to a file."""

from __future__ import annotations

import csv
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

FORMATS = ("json", "jsonl", "csv")
# A spreadsheet runs a cell starting with these as a formula (CSV injection): such cells get a leading '.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_URL_LISTS = {"sources", "rumor_sources"}


def csv_cell(name: str, value: Any) -> Any:
    """One CSV cell: lists joined ("; ", URLs by spaces), None empty, text that a spreadsheet would run escaped."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = (" " if name in _URL_LISTS else "; ").join(str(item) for item in value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_records(records: Sequence[dict[str, Any]], fmt: str, stream: IO[str], columns: Iterable[str]) -> None:
    """Write `records` to `stream` as `fmt` (json, jsonl or csv); CSV has exactly `columns`, in order."""
    if fmt == "json":
        json.dump(list(records), stream, ensure_ascii=False, indent=2)
        stream.write("\n")
    elif fmt == "jsonl":
        for record in records:
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        names = list(columns)
        writer = csv.DictWriter(stream, fieldnames=names, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({name: csv_cell(name, record.get(name)) for name in names})
    else:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


def write_file(path: Path, records: Sequence[dict[str, Any]], fmt: str, columns: Iterable[str], force: bool) -> None:
    """Write `records` to `path` all at once (a temporary file renamed over it).

    Raises:
        FileExistsError: `path` exists and `force` is false.
    """
    if os.path.lexists(path) and not force:
        raise FileExistsError(f"{path} exists: use --force to replace it")
    with replacing(path, "w", overwrite=force) as stream:
        write_records(records, fmt, stream, columns)


@contextmanager
def replacing(
    path: Path, mode: str = "w", permissions: int | None = None, *, overwrite: bool = True
) -> Iterator[IO[Any]]:
    """A stream whose content replaces `path` at once when the block ends (a temporary file in the same
    folder, renamed over it), so a reader never sees half a file; on an error `path` is left as it was.

    Without `overwrite`, the file appears only if nothing has that name by then, a symlink or a file created
    meanwhile included (a hard link, which never replaces, then the temporary name removed): FileExistsError.
    The file gets `permissions`, else the mode of the regular file it replaces, else what the umask gives a new
    file (0644 under the usual 022), not the temporary file's 0600.
    """
    # beside the name itself (not where a symlinked name points): the rename stays within one file system
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.absolute().parent)
    try:
        text = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(handle, mode, **text) as stream:
            yield stream
        os.chmod(temporary, permissions if permissions is not None else _mode_for(path, overwrite))
        if overwrite:
            os.replace(temporary, path)
        else:
            _publish_new(temporary, path)
    except FileExistsError:
        Path(temporary).unlink(missing_ok=True)
        raise FileExistsError(f"{path} exists: use --force to replace it") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _mode_for(path: Path, overwrite: bool) -> int:
    """The mode of the regular file at `path` that is being replaced, else a new file's under the umask."""
    if overwrite:
        try:
            found = os.lstat(path)
        except OSError:
            found = None
        if found is not None and stat.S_ISREG(found.st_mode):
            return stat.S_IMODE(found.st_mode)
    return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it (Linux: /proc), else the usual 022."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _publish_new(temporary: str, path: Path) -> None:
    """Give `temporary` the name `path` only if nothing has that name: a hard link, which never replaces; on a
    file system without hard links, the name is claimed first (O_EXCL, no symlink followed), then replaced.

    Raises:
        FileExistsError: `path` exists.
    """
    try:
        os.link(temporary, path, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError:  # EPERM, ENOTSUP, ... (vfat, exFAT, some FUSE mounts)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))
        os.replace(temporary, path)
        return
    os.unlink(temporary)
