"""Folders that commands write (data, checkpoint and run folders): one writer at a time, and a recorded
configuration that any re-use must match.

``writer(folder)`` holds an exclusive lock on ``FOLDER/.sgd.lock`` (``fcntl.flock``: the kernel releases it when the
holder exits, SIGKILL included) and writes the holder's PID and command into it, so a second writer is refused at once
with a message naming them. ``check_config(folder, name, config)`` records the settings that define the folder's
content in ``FOLDER/NAME.json``; a later use with other settings is refused before any work, naming each difference
and how to start afresh, so resuming can never mix results of two configurations.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shlex
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from sgd_gym.io import atomic_write_text

LOCK_FILE = ".sgd.lock"


class FolderError(ValueError):
    """A folder that cannot be written as asked (a usage error: the CLI exits with status 2)."""


class FolderInUse(FolderError):
    """Another process is writing the folder."""


class ConfigMismatch(FolderError):
    """The folder holds results of another configuration."""


@contextlib.contextmanager
def writer(folder: str | Path) -> Iterator[Path]:
    """Be the only writer of ``folder`` (created if missing) while the ``with`` block runs.

    Raises:
        FolderInUse: another process holds the folder, naming its PID and command.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderInUse(
                f"{folder} is being written by {_holder(descriptor)}; wait for it to end or use another folder"
            ) from None
        holder = {"pid": os.getpid(), "command": command_line(), "since": time.time()}
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, json.dumps(holder).encode(), 0)
        try:
            yield folder
        finally:
            os.ftruncate(descriptor, 0)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def command_line() -> str:
    """This process's command as its user typed it (``sgd eval ...``, ``python -m benchmarks.cli eval ...``)."""
    original = getattr(sys, "orig_argv", sys.argv)
    if "-m" in original[:-1]:
        return shlex.join(["python", *original[original.index("-m") :]])
    return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])


def _holder(descriptor: int) -> str:
    """Who holds the lock, from what it wrote into the lock file."""
    try:
        holder = json.loads(os.pread(descriptor, 4096, 0).decode() or "{}")
        since = time.strftime("%H:%M:%S", time.localtime(holder["since"]))
        return f"process {holder['pid']} (`{holder['command']}`, since {since})"
    except (ValueError, KeyError, TypeError):
        return "another process"


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as ``{"a.b": value}`` (lists compare whole)."""
    if isinstance(value, Mapping):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix[:-1]: value}


def differences(
    recorded: Mapping[str, Any],
    wanted: Mapping[str, Any],
    ignore: Iterable[str] = (),
    absent_means: Mapping[str, Any] | None = None,
) -> list[str]:
    """One line per key whose value differs: ``key: recorded X, now Y`` (keys in ``ignore`` and below them skipped).

    ``absent_means`` maps keys (dotted) that later code records to the value a record without them stands for; it
    applies where ``wanted`` has the key and ``recorded`` lacks it.
    """
    old, new = _flatten(json.loads(json.dumps(recorded))), _flatten(json.loads(json.dumps(wanted)))
    old |= {key: value for key, value in (absent_means or {}).items() if key in new and key not in old}
    skipped = tuple(ignore)
    lines = []
    for key in sorted(old.keys() | new.keys()):
        if any(key == name or key.startswith(name + ".") for name in skipped):
            continue
        if old.get(key, "(absent)") != new.get(key, "(absent)"):
            lines.append(f"{key}: recorded {old.get(key, '(absent)')!r}, now {new.get(key, '(absent)')!r}")
    return lines


def check_config(
    folder: str | Path,
    name: str,
    config: Mapping[str, Any],
    what: str,
    overwrite: bool = False,
    ignore: Iterable[str] = (),
    content: Iterable[str | Path] = (),
    absent_means: Mapping[str, Any] | None = None,
) -> bool:
    """Record ``config`` as ``FOLDER/NAME.json``, or check it against the one recorded there.

    Args:
        folder: the folder (it exists).
        name: the record's name (``run``, ``train_config``, ...).
        config: the settings and input fingerprints that define the folder's content (JSON-serialisable).
        what: what the folder holds, for the message (``an evaluation run``).
        overwrite: record ``config`` whatever is recorded (the caller discards the old content).
        ignore: keys (dotted) recorded but not compared, e.g. the code version or a budget that may grow.
        content: paths (in the folder) of results; if any exists while no configuration is recorded, the folder was
            written by code that did not record one, and is refused too (its results cannot be told apart).
        absent_means: keys (dotted) that later code added, with the value a record without them stands for.

    Returns:
        True when a matching configuration was recorded before (the caller resumes), False when none was.

    Raises:
        ConfigMismatch: another configuration is recorded, listing each differing key with both values.
    """
    path = Path(folder) / f"{name}.json"
    unrecorded = [str(item) for item in content if Path(item).exists()]
    if unrecorded and not path.is_file() and not overwrite:
        raise ConfigMismatch(
            f"{folder} holds {what} ({', '.join(unrecorded)}) but no record of the settings that made it ({path.name}): "
            "use another folder, or --overwrite to discard what it holds and start afresh"
        )
    if path.is_file() and not overwrite:
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ConfigMismatch(f"{path}: unreadable ({error.msg}); use another folder or --overwrite") from None
        lines = differences(recorded, config, ignore, absent_means)
        if lines:
            listed = "\n  ".join(lines)
            raise ConfigMismatch(
                f"{folder} holds {what} made with other settings ({path.name}):\n  {listed}\n"
                "Use another folder, or --overwrite to discard what it holds and start afresh."
            )
        return True
    atomic_write_text(path, json.dumps(config, indent=1, sort_keys=True) + "\n")
    return False


def file_digest(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_digest(path: str | Path) -> str:
    """The SHA-256 of the files directly in a folder (names and bytes; sub-folders such as Trainer checkpoints and
    logs are left out): a checkpoint's content fingerprint."""
    digest = hashlib.sha256()
    for file in sorted(item for item in Path(path).iterdir() if item.is_file() and item.name != LOCK_FILE):
        digest.update(file.name.encode() + b"\0" + file_digest(file).encode())
    return digest.hexdigest()
