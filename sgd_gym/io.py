"""JSONL files written atomically (temp file + rename, with the process umask) and read with errors that name file,
line and field (each record type has one schema, ``sgd_gym.records``)."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask (reading it means setting it: done under a lock)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def with_umask(folder: str | Path) -> None:
    """Give every file directly in ``folder`` the mode of a new file of this process (0666 less the umask).

    For files other libraries write: safetensors (through ``save_pretrained``) creates its weights 0600 whatever the
    umask, so a group sharing a checkpoint or cache folder could not read them.
    """
    mode = 0o666 & ~_umask()
    for path in Path(folder).iterdir():
        if path.is_file() and not path.is_symlink():
            path.chmod(mode)


class DataFileError(ValueError):
    """A data file that is missing, corrupt or of the wrong shape."""


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temp file in the same folder and an atomic rename.

    The file gets the mode of any new file of this process (0666 less the umask), as ``open`` would give it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(handle, 0o666 & ~_umask())  # mkstemp makes it 0600; a new file gets 0666 less the umask
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> Path:
    """Write one JSON object per line, atomically."""
    return atomic_write_text(path, "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))


def iter_jsonl(path: str | Path, schema: Any = None) -> Iterator[dict[str, Any]]:
    """Yield the objects of a JSONL file, each checked against ``schema`` when given.

    Args:
        path: the file.
        schema: a pydantic model (``sgd_gym.records``); each record must validate, and is yielded as read.

    Raises:
        DataFileError: a missing file, or a line that is not UTF-8, not JSON, not an object or not of the schema,
            naming the file, the line and (for the schema) the field.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise DataFileError(f"{path}:{number}: not UTF-8 text (byte {error.start}: {error.reason})") from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataFileError(f"{path}:{number}: not valid JSON ({error.msg})") from None
            if not isinstance(record, dict):
                raise DataFileError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
            if schema is not None:
                check_record(record, schema, f"{path}:{number}")
            yield record


def check_record(record: dict[str, Any], schema: Any, where: str) -> None:
    """Validate ``record`` against the pydantic model ``schema``; ``DataFileError`` naming ``where`` and the field."""
    from pydantic import ValidationError

    try:
        schema.model_validate(record)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(record)"
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        raise DataFileError(f"{where}: {schema.__name__.lower()} field {field!r}: {first['msg']}{more}") from None


def read_jsonl(path: str | Path, schema: Any = None) -> list[dict[str, Any]]:
    """All objects of a JSONL file (see ``iter_jsonl``)."""
    return list(iter_jsonl(path, schema))
