"""Spotify streaming-history exports: the inbox a listener drops their files into → bronze.

A listener downloads their data from Spotify (Account privacy → "Download your data") and drops the
JSON files into ``<inbox>/<listener>/`` (any file name; sub-folders, e.g. the unzipped archive, are
fine). The inbox is ``PULSE_SPOTIFY_INBOX`` (default ``$PULSE_HOME/inbox/spotify``); a listener's
name is 1-64 of ``[A-Za-z0-9_.-]`` and is the name their plays are filed under, the same as the
``listener`` of the Spotify API connection.

A file's format is told by the fields of its rows, never by its name:

- ``classic`` (the "Account data" export, one year): ``endTime, artistName, trackName, msPlayed``
  (``StreamingHistory_music_N.json``), or ``endTime, podcastName, episodeName, msPlayed``
  (``StreamingHistory_podcast_N.json``);
- ``extended_legacy`` (the "Extended streaming history" up to about 2023, ``endsong_N.json``):
  ``ts, ms_played, master_metadata_*, …`` with ``username``, ``ip_addr_decrypted``,
  ``user_agent_decrypted``;
- ``extended`` (the same from about 2024, ``Streaming_History_Audio_*.json``): ``ts, ms_played,
  master_metadata_*, audiobook_*, …, ip_addr``.

Each accepted file becomes one bronze partition ``bronze/spotify/history/listener=<listener>/
export=<first 16 hex digits of the file's sha256>/``: one row per play, its payload the row exactly as
in the file (the personal fields too: they stay in bronze, silver never reads them), and a manifest
(file name, format, rows, sha256, size, listener). The partition is named by the file's content, so
the same file dropped again, under any name, maps to the same partition: it is skipped with a log
line, never counted twice.

An ingested file is moved to ``<inbox>/<listener>/_ingested/``: the inbox then shows only what is
still to do, and :func:`pending_exports` (what a sensor pokes) only hashes files that are new rather
than every export ever dropped, on every poke. Move a file back to re-check it.

A file that is not an export (not JSON, not a list of objects, rows with fields no format has, a
file directly in the inbox root, a folder name that is not a listener name) is moved to
``<inbox>/_rejected/<listener or _>/<its path>`` with ``<name>.reason.txt`` beside it, logged as one
ERROR line naming it and the reason, and counted; the other files still ingest.

Names starting with ``.`` are ignored: copy a large file in as ``.name`` and rename it when the copy
is complete, so a half-written file is never read.

The inbox may be a directory or a place in Azure storage (``PULSE_SPOTIFY_INBOX=abfss://<container>@
<account>.dfs.core.windows.net/<path>``, credentials from the ``pulse_lake`` connection; see
:mod:`pulse.lake_storage`). The code is the same for both: a blob appears only once its upload is
complete, so in Azure no half-written file is read even without the ``.`` convention.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

import ijson  # streams the rows of large files

from pulse.config import inbox_root as configured_inbox_root
from pulse.config import lake_root as configured_lake_root
from pulse.lake import MANIFEST_NAME, BronzePartitionWriter, bronze_partition_path
from pulse.lake_storage import is_remote, lake_path, move_file
from pulse.spotify_client import LISTENER_NAME, SOURCE

if TYPE_CHECKING:
    from pulse.lake_storage import LakePath

log = logging.getLogger(__name__)

DATASET = "history"
REJECTED = "_rejected"
INGESTED = "_ingested"
NO_LISTENER = "_"
EXPORT_ID_HEX = 16
ROWS_PER_PAGE = 10_000
"""Rows handed to the bronze writer at a time; a "page" of a file is this many of its rows."""

CLASSIC, EXTENDED_LEGACY, EXTENDED = "classic", "extended_legacy", "extended"
FORMATS = (CLASSIC, EXTENDED_LEGACY, EXTENDED)

CLASSIC_FIELDS = (
    frozenset({"endTime", "artistName", "trackName", "msPlayed"}),
    frozenset({"endTime", "podcastName", "episodeName", "msPlayed"}),
)
_EXTENDED_COMMON = frozenset({
    "ts", "platform", "ms_played", "conn_country", "master_metadata_track_name",
    "master_metadata_album_artist_name", "master_metadata_album_album_name", "spotify_track_uri",
    "episode_name", "episode_show_name", "spotify_episode_uri", "reason_start", "reason_end", "shuffle",
    "skipped", "offline", "offline_timestamp", "incognito_mode",
})
EXTENDED_LEGACY_FIELDS = _EXTENDED_COMMON | {"username", "ip_addr_decrypted", "user_agent_decrypted"}
EXTENDED_FIELDS = _EXTENDED_COMMON | {
    "ip_addr", "audiobook_title", "audiobook_uri", "audiobook_chapter_uri", "audiobook_chapter_title",
}
_EXTENDED_REQUIRED = frozenset({"ts", "ms_played", "master_metadata_track_name", "spotify_track_uri"})
_LEGACY_MARKERS = frozenset({"username", "ip_addr_decrypted", "user_agent_decrypted"})
_EXTENDED_KNOWN = EXTENDED_FIELDS | EXTENDED_LEGACY_FIELDS


class NotAnExport(Exception):
    """A dropped file is not a Spotify streaming-history export; the message says why."""


def inbox_root() -> LakePath:
    """The exports inbox: ``PULSE_SPOTIFY_INBOX`` (a directory or an Azure URI), default
    ``$PULSE_HOME/inbox/spotify``."""
    location = configured_inbox_root(SOURCE)
    return lake_path(location) if is_remote(location) else Path(location).resolve()


def export_format(fields: set[str] | frozenset[str]) -> str | None:
    """The export format a row with these fields belongs to, or None when it belongs to none.

    ``classic`` rows have exactly one of the two classic field sets. ``extended`` and
    ``extended_legacy`` rows have at least ``ts, ms_played, master_metadata_track_name,
    spotify_track_uri`` and no field outside the known extended fields; they are legacy when they
    carry a legacy personal field (``username``, ``ip_addr_decrypted``, ``user_agent_decrypted``)."""
    fields = frozenset(fields)
    if fields in CLASSIC_FIELDS:
        return CLASSIC
    if _EXTENDED_REQUIRED <= fields <= _EXTENDED_KNOWN:
        return EXTENDED_LEGACY if fields & _LEGACY_MARKERS else EXTENDED
    return None


def _why_no_format(fields: frozenset[str]) -> str:
    unknown = sorted(fields - _EXTENDED_KNOWN - CLASSIC_FIELDS[0] - CLASSIC_FIELDS[1])
    if unknown:
        return f"fields no Spotify export has: {', '.join(unknown)}"
    if "endTime" in fields:
        return (f"fields {', '.join(sorted(fields))} are not a classic export's "
                f"(endTime, artistName, trackName, msPlayed)")
    missing = sorted(_EXTENDED_REQUIRED - fields)
    return f"missing the extended export's fields {', '.join(missing)}" if missing else "mixed formats' fields"


@dataclass(frozen=True)
class DroppedFile:
    """A file found in the inbox: where it is, whose it is (None: no valid listener) and its path
    inside the listener's folder (or the inbox root)."""

    path: LakePath
    listener: str | None
    relative: PurePath
    problem: str | None = None
    """Why it cannot be an export whatever it holds (placement), or None."""


def dropped_files(inbox: str | os.PathLike) -> list[DroppedFile]:
    """Every file waiting in the inbox, in a stable order: files of listener folders (at any depth,
    except their ``_ingested``), files directly in the root and files of folders whose name is not
    a listener name (those two with their ``problem``). Names starting with ``.`` are skipped (a
    copy in progress), and so is ``_rejected``."""
    root = lake_path(inbox)
    if not root.is_dir():
        return []
    found: list[DroppedFile] = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.name == REJECTED:
            continue
        if entry.is_file():
            found.append(DroppedFile(entry, None, PurePath(entry.name),
                                     f"it is directly in the inbox root: put it in {root}/<listener>/"))
            continue
        if not entry.is_dir():
            continue
        valid = LISTENER_NAME.fullmatch(entry.name) is not None
        problem = None if valid else (f"its folder {entry.name!r} is not a listener name (1-64 letters, "
                                      "digits, '_', '.' or '-')")
        for path in sorted(entry.rglob("*")):
            relative = path.relative_to(entry)
            if (not path.is_file() or relative.parts[0] == INGESTED
                    or any(part.startswith(".") for part in relative.parts)):
                continue
            found.append(DroppedFile(path, entry.name if valid else None, relative, problem))
    return found


def file_digest(path: LakePath) -> tuple[str, int]:
    """The sha256 (hex) and size in bytes of a file, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def export_partition(lake_root: str | os.PathLike, listener: str, sha256: str) -> LakePath:
    """The bronze partition of a listener's export: ``…/history/listener=<l>/export=<sha[:16]>``."""
    return bronze_partition_path(lake_root, SOURCE, DATASET, None,
                                 (("listener", listener), ("export", sha256[:EXPORT_ID_HEX])))


def _is_ingested(lake_root: str | os.PathLike, listener: str, sha256: str) -> bool:
    return (export_partition(lake_root, listener, sha256) / MANIFEST_NAME).is_file()


def _where(inbox: str | os.PathLike | None, lake_root: str | os.PathLike | None) -> tuple[LakePath, LakePath]:
    return (lake_path(inbox) if inbox is not None else inbox_root(),
            lake_path(lake_root or configured_lake_root()))


def pending_exports(inbox: str | os.PathLike | None = None,
                    lake_root: str | os.PathLike | None = None) -> list[LakePath]:
    """The files in the inbox that :func:`ingest_exports` has work for: not yet in bronze (files that
    will be rejected included, so they are reported). Empty when there is nothing to do. The inbox and
    the lake default to the configured ones (:func:`inbox_root`, ``pulse.config.lake_root``)."""
    inbox, lake_root = _where(inbox, lake_root)
    pending = []
    for dropped in dropped_files(inbox):
        if dropped.listener is None:
            pending.append(dropped.path)
            continue
        sha256, _ = file_digest(dropped.path)
        if not _is_ingested(lake_root, dropped.listener, sha256):
            pending.append(dropped.path)
    return pending


def _first_line(exc: BaseException) -> str:
    """The first line of a parser's message (yajl's span several lines, sometimes as bytes)."""
    message = exc.args[0] if exc.args and isinstance(exc.args[0], bytes) else str(exc)
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def export_rows(path: LakePath) -> Iterator[Any]:
    """The elements of the JSON list in ``path``, streamed (ijson). Raises :class:`NotAnExport` when the
    file is not JSON or not a list; a UTF-8 byte-order mark is allowed."""
    with path.open("rb") as f:
        if f.read(3) != b"\xef\xbb\xbf":
            f.seek(0)
        start = f.tell()
        if not f.read(1):
            raise NotAnExport("not JSON: the file is empty")
        f.seek(start)
        try:
            _, event, _ = next(ijson.parse(f))
        except ijson.JSONError as exc:
            raise NotAnExport(f"not JSON: {_first_line(exc)}") from exc
        if event != "start_array":
            raise NotAnExport(f"not a JSON list (it starts with a {event.removeprefix('start_')})")
        f.seek(start)
        try:
            yield from ijson.items(f, "item", use_float=True)
        except ijson.JSONError as exc:
            raise NotAnExport(f"not JSON: {_first_line(exc)}") from exc


def write_export(path: LakePath, writer: BronzePartitionWriter, request_url: str) -> tuple[str, int]:
    """Check every row of the export at ``path`` and write it to ``writer`` as it is; returns its
    format and row count. Raises :class:`NotAnExport` (the writer is left to the caller to abort)
    when a row is not an object, its fields are no format's, or rows of two formats are mixed."""
    file_format: str | None = None
    rows = 0
    batch: list[dict] = []
    for row in export_rows(path):
        if not isinstance(row, dict):
            raise NotAnExport(f"row {rows} is a JSON {type(row).__name__}, not an object: not a list of plays")
        fields = frozenset(row)
        row_format = export_format(fields)
        if row_format is None:
            raise NotAnExport(f"row {rows} has {_why_no_format(fields)}")
        if file_format is None:
            file_format = row_format
        elif row_format != file_format:
            raise NotAnExport(f"row {rows} is {row_format} but row 0 is {file_format}: one file holds one format")
        batch.append(row)
        rows += 1
        if len(batch) >= ROWS_PER_PAGE:
            writer.add_page(writer.pages + 1, request_url, batch)
            batch = []
    if file_format is None:
        raise NotAnExport("an empty list: no plays, so no format to tell")
    if batch:
        writer.add_page(writer.pages + 1, request_url, batch)
    return file_format, rows


def _free_path(path: LakePath) -> LakePath:
    """``path``, or ``<stem>.<n><suffix>`` for the first ``n`` that is not taken."""
    candidate, n = path, 1
    while candidate.exists() or candidate.with_name(candidate.name + ".reason.txt").exists():
        candidate = path.with_name(f"{path.stem}.{n}{path.suffix}")
        n += 1
    return candidate


def _move(path: LakePath, target: LakePath) -> LakePath:
    target = _free_path(target)
    move_file(path, target)
    return target


def _reject(inbox: LakePath, dropped: DroppedFile, reason: str) -> LakePath:
    target = _move(dropped.path, inbox / REJECTED / (dropped.listener or NO_LISTENER) / dropped.relative)
    target.with_name(target.name + ".reason.txt").write_text(
        f"{dropped.path} was rejected: {reason}\n"
        f"It is not a Spotify streaming-history export Pulse reads (classic StreamingHistory*, extended "
        f"endsong_* or Streaming_History_Audio_*). Fix it and drop it into {inbox}/<listener>/ again.\n")
    log.error("spotify export %s rejected: %s (moved to %s)", dropped.path, reason, target)
    return target


def _keep_ingested(inbox: LakePath, dropped: DroppedFile, sha256: str) -> LakePath:
    """Move an ingested (or already ingested) file to its listener's ``_ingested/``; a byte-identical
    copy of a file already kept there is removed instead of piling up beside it."""
    target = inbox / dropped.listener / INGESTED / dropped.relative
    if target.is_file() and file_digest(target)[0] == sha256:
        dropped.path.unlink()
        return target
    return _move(dropped.path, target)


def ingest_exports(inbox: str | os.PathLike | None = None, lake_root: str | os.PathLike | None = None) -> dict:
    """Ingest every export waiting in the inbox into bronze; returns what happened:
    ``files_ingested``, ``files_skipped`` (already in bronze), ``files_rejected``, ``rows_by_format``
    (rows written per format, every format present) and ``rejected`` (the rejected files' paths
    relative to the inbox, with their reasons).

    Ingested and skipped files are moved to ``<listener>/_ingested/``; rejected ones to
    ``_rejected/``. A file that cannot be read at all (permissions, disk) raises: that is not the
    file's fault, and it stays where it is for the retry. The inbox and the lake default to the configured
    ones."""
    inbox, lake_root = _where(inbox, lake_root)
    result: dict[str, Any] = {"files_ingested": 0, "files_skipped": 0, "files_rejected": 0,
                              "rows_by_format": dict.fromkeys(FORMATS, 0), "rejected": []}
    for dropped in dropped_files(inbox):
        name = str(dropped.path.relative_to(inbox))
        if dropped.problem is not None:
            _reject(inbox, dropped, dropped.problem)
            result["files_rejected"] += 1
            result["rejected"].append({"file": name, "reason": dropped.problem})
            continue
        sha256, size = file_digest(dropped.path)
        partition = export_partition(lake_root, dropped.listener, sha256)
        if _is_ingested(lake_root, dropped.listener, sha256):
            moved = _keep_ingested(inbox, dropped, sha256)
            log.info("spotify export %s is already in bronze (%s, same content): skipped, moved to %s",
                     name, partition, moved)
            result["files_skipped"] += 1
            continue
        writer = BronzePartitionWriter(lake_root, SOURCE, DATASET, None,
                                       (("listener", dropped.listener), ("export", sha256[:EXPORT_ID_HEX])))
        try:
            file_format, rows = write_export(dropped.path, writer, f"inbox:{dropped.listener}/{dropped.relative}")
        except NotAnExport as exc:
            writer.abort()
            _reject(inbox, dropped, str(exc))
            result["files_rejected"] += 1
            result["rejected"].append({"file": name, "reason": str(exc)})
            continue
        except BaseException:
            writer.abort()
            raise
        writer.commit({"file_name": str(dropped.relative), "format": file_format, "rows": rows,
                       "sha256": sha256, "size_bytes": size, "listener": dropped.listener,
                       "export_id": sha256[:EXPORT_ID_HEX], "ingested_at": datetime.now(UTC).isoformat()})
        moved = _keep_ingested(inbox, dropped, sha256)
        log.info("spotify export %s: %d %s rows of listener %s into %s (file moved to %s)",
                 name, rows, file_format, dropped.listener, partition, moved)
        result["files_ingested"] += 1
        result["rows_by_format"][file_format] += rows
    log.info("spotify exports: %d ingested, %d skipped (already in bronze), %d rejected; rows %s",
             result["files_ingested"], result["files_skipped"], result["files_rejected"],
             result["rows_by_format"])
    return result
