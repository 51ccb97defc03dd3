"""Machine output of records: JSON, JSON Lines and CSV (spreadsheet-safe), to a stream or to a file."""

from __future__ import annotations

import csv
import json
import os
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
    """
    # beside the name itself (not where a symlinked name points): the rename stays within one file system
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.absolute().parent)
    try:
        text = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(handle, mode, **text) as stream:
            yield stream
        if permissions is not None:
            os.chmod(temporary, permissions)
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
