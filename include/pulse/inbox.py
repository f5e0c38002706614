"""The rules every file inbox follows (Spotify's exports, and the creator exports to come).

An inbox is a root folder with one folder per owner (a listener, an account) holding the files they
dropped, at any depth. Walking it and writing into it:

- **No symbolic link is followed.** A link, to a folder or a file, inside or outside the inbox, is
  reported as a file with a ``problem`` (the caller rejects it: the link itself is moved, never its
  target). So nothing outside the inbox root is read, moved, created or deleted through the inbox.
- Only regular files are read: a FIFO, a socket or a device gets a ``problem`` too (reading a FIFO
  would block the task).
- Names starting with ``.`` are not looked at (a copy in progress), nor the folders Pulse keeps in
  the inbox (``skip_in_root``, ``skip_in_folders``).
- Folders Pulse writes into are made component by component from the root
  (:func:`directory_inside`), refusing any component that is a link.
- Names Pulse makes fit in one path component (:func:`fitting_name`): 255 bytes, whatever name the
  listener's file had.

The root itself may be a link (where the inbox lives is the operator's setting); nothing below it
is followed. An inbox in Azure storage has no links, so there the rules cost nothing. A link swapped in while a
task runs (between the check and the use) is not guarded against: the inbox's owner is trusted not
to race its own tasks; what is guarded is a link that is there when the task looks.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pulse.lake_storage import LakePath

NAME_MAX = 255
"""Bytes in one path component on Linux's file systems (and a blob path segment in Azure)."""


class UnsafeInbox(RuntimeError):
    """A folder Pulse must write into is a link (or a file): nothing is written through it."""


@dataclass(frozen=True)
class InboxFile:
    """A file found in an inbox: where it is, the top-level folder it is in (None: directly in the
    root) and its path inside that folder (or the root)."""

    path: LakePath
    folder: str | None
    relative: PurePath
    problem: str | None = None
    """Why it must not be read whatever it holds (a link, not a regular file), or None."""


def _is_link(path: LakePath) -> bool:
    return isinstance(path, Path) and path.is_symlink()


def _link_problem(path: LakePath) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return (f"it is a symbolic link (to {target}): the inbox never follows links, copy the files in "
            "instead")


def _kind_problem(path: LakePath) -> str:
    return "it is not a regular file (a FIFO, a socket or a device): only files are read"


def inbox_files(root: LakePath, skip_in_root: Collection[str] = (),
                skip_in_folders: Collection[str] = ()) -> list[InboxFile]:
    """Every file in the inbox at ``root``, in a stable order, links and other non-files with their
    ``problem``. Links are never followed; names starting with ``.`` are skipped, and so are
    ``skip_in_root`` (names directly in the root) and ``skip_in_folders`` (names directly in a
    top-level folder)."""
    if not root.is_dir():  # the root itself may be a link: where the inbox is, is configuration
        return []
    found: list[InboxFile] = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.name in skip_in_root:
            continue
        relative = PurePath(entry.name)
        if _is_link(entry):
            found.append(InboxFile(entry, None, relative, _link_problem(entry)))
        elif entry.is_dir():
            found.extend(_files_below(entry, entry.name, PurePath(), skip_in_folders))
        elif entry.is_file():
            found.append(InboxFile(entry, None, relative))
        else:
            found.append(InboxFile(entry, None, relative, _kind_problem(entry)))
    return found


def _files_below(folder: LakePath, owner: str, relative: PurePath, skip: Collection[str]) -> list[InboxFile]:
    found: list[InboxFile] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or (not relative.parts and entry.name in skip):
            continue
        inner = relative / entry.name
        if _is_link(entry):  # checked first: is_dir() and is_file() would follow it
            found.append(InboxFile(entry, owner, inner, _link_problem(entry)))
        elif entry.is_dir():
            found.extend(_files_below(entry, owner, inner, skip))
        elif entry.is_file():
            found.append(InboxFile(entry, owner, inner))
        else:
            found.append(InboxFile(entry, owner, inner, _kind_problem(entry)))
    return found


def directory_inside(root: LakePath, relative: PurePath) -> LakePath:
    """``root / relative``, its missing folders made one by one. Raises :class:`UnsafeInbox` when one
    of them is a link or not a folder, before anything is written through it."""
    path = root
    for part in relative.parts:
        path = path / part
        if not isinstance(path, Path):
            continue  # object storage: no links, and folders need not exist
        if path.is_symlink():
            raise UnsafeInbox(f"{path} is a symbolic link: Pulse never writes through links in the inbox. "
                              "Remove it; Pulse makes the folder again")
        if not path.exists():
            path.mkdir()
        elif not path.is_dir():
            raise UnsafeInbox(f"{path} is a file where Pulse keeps a folder: move it away")
    return path


def fitting_name(name: str, tail: str = "") -> str:
    """``name + tail`` when it fits in one path component (:data:`NAME_MAX` bytes); otherwise ``name``
    cut short, then ``~`` and 8 hex digits of its sha256 (so two long names stay two names), then its
    last suffix (if short) and ``tail``."""
    whole = name + tail
    raw = os.fsencode(name)
    if len(os.fsencode(whole)) <= NAME_MAX:
        return whole
    suffix = PurePath(name).suffix if len(os.fsencode(PurePath(name).suffix)) <= 16 else ""
    end = f"~{hashlib.sha256(raw).hexdigest()[:8]}{suffix}{tail}"
    keep = NAME_MAX - len(os.fsencode(end))
    head = raw[:keep]
    while head and not _decodes(head):  # do not leave half of a UTF-8 character
        head = head[:-1]
    return os.fsdecode(head) + end


def _decodes(raw: bytes) -> bool:
    try:
        raw[-4:].decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.reason != "unexpected end of data"
    return True


def safe_folder_name(name: str) -> str:
    """A folder name for anything a user named ``name``: its letters, digits, ``_``, ``.`` and ``-``
    (others become ``_``, at most 40), then ``~`` and 8 hex digits of its sha256, so two different
    names never share a folder and none is hidden or empty."""
    kept = "".join(c if c.isascii() and (c.isalnum() or c in "_.-") else "_" for c in name)[:40].lstrip(".")
    return f"{kept}~{hashlib.sha256(os.fsencode(name)).hexdigest()[:8]}"


def printable(path: str | os.PathLike | LakePath) -> str:
    """A path as text that can be written anywhere: bytes that are not UTF-8 as ``\\xNN``."""
    if not isinstance(path, str | PurePath):
        return str(path)  # a path in object storage: its text is already UTF-8
    return os.fsencode(path).decode("utf-8", "backslashreplace")
