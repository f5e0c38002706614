"""The rules every file inbox follows (Spotify's streaming-history exports, creators' exports).

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

And the moves every inbox makes, the same for each: a file that is not an export goes to
``_rejected/<owner>/<its path>`` (``_rejected/_/…`` without a valid owner) with ``<name>.reason.txt``
beside it (:func:`reject`); an ingested one to ``<owner>/_ingested/<its path>`` (:func:`keep_ingested`).
A zip archive's files (:func:`archive_members`) are read out of it, never extracted.

The root itself may be a link (where the inbox lives is the operator's setting); nothing below it
is followed. An inbox in Azure storage has no links, so there the rules cost nothing. A link swapped in while a
task runs (between the check and the use) is not guarded against: the inbox's owner is trusted not
to race its own tasks; what is guarded is a link that is there when the task looks.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import zipfile
import zlib
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from pulse.lake_storage import move_file

if TYPE_CHECKING:
    from pulse.lake_storage import LakePath

NAME_MAX = 255
"""Bytes in one path component on Linux's file systems (and a blob path segment in Azure)."""
REJECTED = "_rejected"
INGESTED = "_ingested"
NO_OWNER = "_"
REASON_SUFFIX = ".reason.txt"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
ARCHIVE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, zlib.error)
"""What :mod:`zipfile` raises for an archive or member it cannot read (corrupt, encrypted, an unknown
compression)."""


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


# --- dropped files, zip archives and the moves --------------------------------------------------------

@dataclass(frozen=True)
class DroppedFile:
    """A file found in an inbox, or a file inside a zip archive found there: where it is, whose it
    is (its owner folder: a listener, an account; None: no valid owner) and its path inside the owner's
    folder (or the inbox root)."""

    path: LakePath
    owner: str | None
    relative: PurePath
    problem: str | None = None
    """Why it cannot be an export whatever it holds (placement, a link), or None."""
    member: str | None = None
    """Its name inside the zip archive at ``path``; None for a file of its own."""

    @property
    def name(self) -> str:
        """How logs and summaries name it: its path under the inbox, a member after its archive's."""
        return printable(self.relative if self.owner is None else PurePath(self.owner, self.relative))

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """Its bytes, streamed: a member is decompressed as it is read, never extracted to disk."""
        if self.member is None:
            with self.path.open("rb") as f:
                yield f
            return
        with self.path.open("rb") as raw, zipfile.ZipFile(raw) as archive, archive.open(self.member) as f:
            yield f


def owned_files(root: LakePath, owner: str, owner_name: re.Pattern, make: type[DroppedFile]) -> list:
    """Every file waiting in the inbox at ``root``, in a stable order (:func:`inbox_files`: no link is
    followed, names starting with ``.`` are skipped, and so are ``_rejected`` and each owner's
    ``_ingested``), as ``make`` (a :class:`DroppedFile`): files of owner folders (``owner`` says what an
    owner is: a listener, an account) at any depth, files directly in the root and files of folders whose
    name does not match ``owner_name`` (those two with their ``problem``), and links, each with the
    reason it is refused."""
    found = []
    for file in inbox_files(root, skip_in_root=(REJECTED,), skip_in_folders=(INGESTED,)):
        if file.folder is None:
            problem = file.problem or f"it is directly in the inbox root: put it in {printable(root)}/<{owner}>/"
            found.append(make(file.path, None, file.relative, problem))
        elif owner_name.fullmatch(file.folder) is None:
            problem = file.problem or (f"its folder {printable(file.folder)!r} is not {_article(owner)} {owner} name "
                                       "(1-64 letters, digits, '_', '.' or '-')")
            found.append(make(file.path, None, PurePath(file.folder, file.relative), problem))
        else:
            found.append(make(file.path, file.folder, file.relative, file.problem))
    return found


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def is_zip_archive(path: LakePath) -> bool:
    """True when the file starts like a zip archive (told by its bytes, not its name)."""
    with path.open("rb") as f:
        return f.read(4) in ZIP_MAGIC


def archive_members(archive: DroppedFile) -> list[DroppedFile]:
    """The files inside a zip archive dropped in an owner's folder (of the archive's own class), each with
    its path after the archive's. Folders and names with a part starting with ``.`` (``__MACOSX`` too)
    are left out. Raises :class:`zipfile.BadZipFile` when the archive cannot be read."""
    with archive.path.open("rb") as raw, zipfile.ZipFile(raw) as opened:
        names = [info.filename for info in opened.infolist() if not info.is_dir()]
    members = []
    for name in sorted(names):
        parts = [part for part in PurePosixPath(name).parts if part not in ("/", ".")]
        if not parts or any(part.startswith(".") or part == "__MACOSX" for part in parts):
            continue
        inside = PurePath(*(fitting_name(part) for part in parts))  # a name to show and file under, never a path read
        members.append(type(archive)(archive.path, archive.owner, archive.relative / inside, member=name))
    return members


def file_digest(path: LakePath | DroppedFile) -> tuple[str, int]:
    """The sha256 (hex) and size in bytes of a file (or of an archive member's bytes), read in blocks."""
    digest = hashlib.sha256()
    size = 0
    with path.open() if isinstance(path, DroppedFile) else path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _taken(path: LakePath) -> bool:
    return os.path.lexists(path) if isinstance(path, Path) else path.exists()  # a dangling link is taken


def reason_name(name: str) -> str:
    """The name of the reason file beside a rejected file called ``name``."""
    return fitting_name(name, REASON_SUFFIX)


def free_path(path: LakePath) -> LakePath:
    """``path``, or ``<stem>.<n><suffix>`` for the first ``n`` that is not taken (nor its reason file's
    name), every name short enough for the file system."""
    suffix = path.suffix if len(os.fsencode(path.suffix)) <= 16 else ""
    stem = path.name.removesuffix(suffix) if suffix else path.name
    candidate, n = path.with_name(fitting_name(path.name)), 1
    while _taken(candidate) or _taken(candidate.with_name(reason_name(candidate.name))):
        candidate = path.with_name(fitting_name(f"{stem}.{n}", suffix))
        n += 1
    return candidate


def place_inside(inbox: LakePath, relative: PurePath) -> LakePath:
    """A free path for a file at ``relative`` under the inbox, its folders made inside the inbox."""
    folder = directory_inside(inbox, relative.parent)
    return free_path(folder / relative.name)


def rejected_place(inbox: LakePath, dropped: DroppedFile) -> LakePath:
    """Where a rejected file goes: ``_rejected/<owner>/<its path>``; without an owner,
    ``_rejected/_/<its path>``, the folder it came from under a safe name of its own
    (:func:`safe_folder_name`), so files of two badly named folders never mix."""
    if dropped.owner is not None:
        return place_inside(inbox, PurePath(REJECTED, dropped.owner, dropped.relative))
    parts = dropped.relative.parts
    if len(parts) > 1:  # in a folder that is not an owner's
        parts = (safe_folder_name(parts[0]), *parts[1:])
    return place_inside(inbox, PurePath(REJECTED, NO_OWNER, *parts))


def _is_link(path: LakePath) -> bool:
    return isinstance(path, Path) and path.is_symlink()


def reject(inbox: LakePath, dropped: DroppedFile, reason_text: str) -> LakePath:
    """Move the rejected file (a link itself, never what it points to) to ``_rejected/``, or copy an
    archive member's bytes there (when they can be read), with ``reason_text`` in its reason file beside
    it; returns where it went."""
    target = rejected_place(inbox, dropped)
    if dropped.member is None:
        move_file(dropped.path, target)
    else:
        try:
            with dropped.open() as reader, target.open("xb" if isinstance(target, Path) else "wb") as writer:
                shutil.copyfileobj(reader, writer, 1 << 20)
        except ARCHIVE_ERRORS:  # an encrypted or damaged member: its reason alone, no half of its bytes
            if target.exists():
                target.unlink()
            reason_text += "Its bytes cannot be read out of the archive, so they are not copied here.\n"
    reason_file = target.with_name(reason_name(target.name))
    if isinstance(reason_file, Path):  # "x": never through a link planted under that name
        with reason_file.open("x", encoding="utf-8") as f:
            f.write(reason_text)
    else:
        reason_file.write_text(reason_text)
    return target


def keep_ingested(inbox: LakePath, dropped: DroppedFile, sha256: str) -> LakePath:
    """Move an ingested (or already ingested) file to its owner's ``_ingested/``; a byte-identical copy
    of a file already kept there is removed instead of piling up beside it. Returns where it is kept."""
    kept = directory_inside(inbox, PurePath(dropped.owner, INGESTED, *dropped.relative.parent.parts))
    target = kept / dropped.relative.name
    if not _is_link(target) and target.is_file() and file_digest(target)[0] == sha256:
        dropped.path.unlink()
        return target
    target = free_path(target)
    move_file(dropped.path, target)
    return target
