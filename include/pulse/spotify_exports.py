"""Spotify streaming-history exports: the inbox a listener drops their files into → bronze.

A listener downloads their data from Spotify (Account privacy → "Download your data") and drops what
arrives into ``<inbox>/<listener>/``: the zip archive as it is (``my_spotify_data.zip``), or its JSON
files (any file name; sub-folders, e.g. the unzipped archive, are fine). A zip archive (told by its
bytes) is read as if unzipped, each file streamed out of it, nothing extracted to disk.
The inbox is ``PULSE_SPOTIFY_INBOX`` (default ``$PULSE_HOME/inbox/spotify``); a listener's name is
1-64 of ``[A-Za-z0-9_.-]`` and is the name their plays are filed under, the same as the ``listener``
of the Spotify API connection.

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
the same file dropped again, under any name, loose or in an archive, maps to the same partition: it
is skipped with a log line, never counted twice.

The files Spotify ships beside the history (its ReadMe PDF, ``Userdata.json``, ``Payments.json``,
``PlaylistN.json`` … :data:`SPOTIFY_ACCOUNT_FILES`) are not plays: when one is not an export, it is
skipped with an INFO line (one per archive), not rejected.

An ingested file (an archive once read, an account-data file) is moved to
``<inbox>/<listener>/_ingested/``: the inbox then shows only what is
still to do, and :func:`pending_exports` (what a sensor pokes) only hashes files that are new rather
than every export ever dropped, on every poke. Move a file back to re-check it.

A file that is not an export (not JSON, not a list of objects, rows with fields no format has, a
zip archive that cannot be read, a file directly in the inbox root, a folder name that is not a
listener name, a symbolic link) is moved to ``<inbox>/_rejected/<listener>/<its path>`` (without a
listener: ``_rejected/_/<its path>``, a folder that is not a listener name kept under a safe name of
its own) with a reason file beside it, logged as one ERROR line naming it and the reason, and counted;
the other files still ingest. A file in an archive that is not an export is copied out to
``_rejected/<listener>/<archive>/<its path>``. Names Pulse makes always fit the file system (a name
too long for ``<name>.reason.txt`` is shortened and given a hash).

No link is followed (:mod:`pulse.inbox`): a link, to a folder or a file, is rejected itself and what
it points to is never read, moved or written; a folder Pulse keeps (``_rejected``, ``_ingested``)
that is a link stops the ingest with an error before anything is written through it.

The summary :func:`ingest_exports` returns counts what its own call did: when a task is retried, the
files its first attempt ingested are in bronze and in ``_ingested/``, not in the retry's counts.

Names starting with ``.`` are ignored: copy a large file in as ``.name`` and rename it when the copy
is complete, so a half-written file is never read.

The inbox may be a directory or a place in Azure storage (``PULSE_SPOTIFY_INBOX=abfss://<container>@
<account>.dfs.core.windows.net/<path>``, credentials from the ``pulse_lake`` connection; see
:mod:`pulse.lake_storage`). The code is the same for both: a blob appears only once its upload is
complete, so in Azure no half-written file is read even without the ``.`` convention.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import ijson  # streams the rows of large files

from pulse import inbox
from pulse.config import inbox_root as configured_inbox_root
from pulse.config import lake_root as configured_lake_root
from pulse.inbox import (
    ARCHIVE_ERRORS,
    NO_OWNER,
    archive_members,
    file_digest,
    is_zip_archive,
    keep_ingested,
    owned_files,
    printable,
    reject,
)
from pulse.lake import MANIFEST_NAME, BronzePartitionWriter, bronze_partition_path
from pulse.lake_storage import is_remote, lake_path
from pulse.spotify_client import LISTENER_NAME, SOURCE

if TYPE_CHECKING:
    from pulse.lake_storage import LakePath

log = logging.getLogger(__name__)

DATASET = "history"
NO_LISTENER = NO_OWNER
COUNTS_COVER = ("this attempt: files an earlier attempt of the same task moved out of the inbox are in bronze, "
                "but not in these counts")
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


SPOTIFY_ACCOUNT_FILES = re.compile(
    r"""(?ix)
    read_?me.*\.pdf                     # ReadMeFirst_AccountData.pdf, ReadMeFirst_ExtendedStreamingHistory.pdf
    | (?:userdata|payments|follow|inferences|identifiers|identity|marquee|searchqueries|yourlibrary
       |playlistinabottle|customerservicehistoryandsurveydata|soundrecognition|yoursoundcapsule
       |duonewfamily|familyplan|wrapped\d{4}|playlist\d+)\.json
    """)
"""The files of Spotify's "Account data" and "Extended streaming history" archives that are not a
listening history (names as Spotify ships them, in ``Spotify Account Data/``, ``Spotify Extended
Streaming History/`` or ``MyData/``)."""


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
class DroppedFile(inbox.DroppedFile):
    """A file found in the inbox, or a file inside a zip archive found there (:class:`pulse.inbox.DroppedFile`),
    its owner a listener."""

    @property
    def listener(self) -> str | None:
        """Whose plays it holds: its listener folder (None: no valid listener)."""
        return self.owner


def dropped_files(inbox: str | os.PathLike) -> list[DroppedFile]:
    """Every file waiting in the inbox (:func:`pulse.inbox.owned_files`, the owners listeners)."""
    return owned_files(lake_path(inbox), "listener", LISTENER_NAME, DroppedFile)


def is_spotify_account_file(name: str) -> bool:
    """True for the files Spotify ships beside the streaming history (its ReadMe PDF, ``Userdata.json``,
    ``Payments.json``, ``Playlist1.json`` …): not plays, so skipped rather than rejected."""
    return SPOTIFY_ACCOUNT_FILES.fullmatch(name) is not None


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
        if dropped.problem is not None or dropped.listener is None:
            pending.append(dropped.path)
        elif not is_zip_archive(dropped.path):
            if not _is_ingested(lake_root, dropped.listener, file_digest(dropped)[0]):
                pending.append(dropped.path)
        elif _archive_has_work(dropped, lake_root):
            pending.append(dropped.path)
    return pending


def _archive_has_work(archive: DroppedFile, lake_root: LakePath) -> bool:
    try:
        members = archive_members(archive)
        return any(not is_spotify_account_file(member.relative.name)
                   and not _is_ingested(lake_root, member.listener, file_digest(member)[0]) for member in members)
    except ARCHIVE_ERRORS:
        return True  # to be rejected


def _first_line(exc: BaseException) -> str:
    """The first line of a parser's message (yajl's span several lines, sometimes as bytes)."""
    message = exc.args[0] if exc.args and isinstance(exc.args[0], bytes) else str(exc)
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def export_rows(f: BinaryIO) -> Iterator[Any]:
    """The elements of the JSON list in the open file ``f`` (seekable: a file, or a zip member),
    streamed (ijson). Raises :class:`NotAnExport` when the file is not JSON or not a list; a UTF-8
    byte-order mark is allowed."""
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


def write_export(f: BinaryIO, writer: BronzePartitionWriter, request_url: str) -> tuple[str, int]:
    """Check every row of the export in the open file ``f`` and write it to ``writer`` as it is; returns its
    format and row count. Raises :class:`NotAnExport` (the writer is left to the caller to abort)
    when a row is not an object, its fields are no format's, or rows of two formats are mixed."""
    file_format: str | None = None
    rows = 0
    batch: list[dict] = []
    for row in export_rows(f):
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


def _write_reason_text(dropped: DroppedFile, inbox: LakePath, reason: str) -> str:
    return (f"{dropped.name} was rejected: {reason}\n"
            f"It is not a Spotify streaming-history export Pulse reads (classic StreamingHistory*, extended "
            f"endsong_* or Streaming_History_Audio_*, or a zip archive holding them). Fix it and drop it into "
            f"{printable(inbox)}/<listener>/ again.\n")


def _reject(inbox: LakePath, dropped: DroppedFile, reason: str) -> LakePath:
    """Move the rejected file (a link itself, never what it points to) to ``_rejected/``, or copy an
    archive member's bytes there, with its reason beside it (:func:`pulse.inbox.reject`)."""
    target = reject(inbox, dropped, _write_reason_text(dropped, inbox, reason))
    log.error("spotify export %s rejected: %s (%s to %s)", dropped.name, reason,
              "moved" if dropped.member is None else "copied out of the archive", printable(target))
    return target


INGESTED_NOW, SKIPPED, ACCOUNT_FILE, REJECTED_NOW = "ingested", "skipped", "account file", "rejected"


def _take(dropped: DroppedFile, lake_root: LakePath, result: dict,
          digest: tuple[str, int] | None = None) -> tuple[str, str | None]:
    """Ingest one export (a file, or a member of an archive; ``digest`` when already known) and count
    it in ``result``; returns what became of it and, for a rejected one, why. Leaves moving the file to
    the caller."""
    try:
        return _ingest_export(dropped, lake_root, result, digest), None
    except NotAnExport as exc:
        reason = str(exc)
    if is_spotify_account_file(dropped.relative.name):
        result["files_account_data"] += 1
        return ACCOUNT_FILE, None
    result["files_rejected"] += 1
    result["rejected"].append({"file": dropped.name, "reason": reason})
    return REJECTED_NOW, reason


def _ingest_export(dropped: DroppedFile, lake_root: LakePath, result: dict,
                   digest: tuple[str, int] | None) -> str:
    try:
        sha256, size = digest or file_digest(dropped)
    except ARCHIVE_ERRORS as exc:
        raise NotAnExport(f"it cannot be read from its zip archive: {exc}") from exc
    partition = export_partition(lake_root, dropped.listener, sha256)
    if _is_ingested(lake_root, dropped.listener, sha256):
        log.info("spotify export %s is already in bronze (%s, same content): skipped", dropped.name, partition)
        result["files_skipped"] += 1
        return SKIPPED
    writer = BronzePartitionWriter(lake_root, SOURCE, DATASET, None,
                                   (("listener", dropped.listener), ("export", sha256[:EXPORT_ID_HEX])))
    try:
        with dropped.open() as f:
            file_format, rows = write_export(f, writer, f"inbox:{dropped.name}")
    except BaseException as exc:
        writer.abort()
        if dropped.member is not None and isinstance(exc, ARCHIVE_ERRORS):
            raise NotAnExport(f"it cannot be read from its zip archive: {exc}") from exc
        raise
    writer.commit({"file_name": printable(dropped.relative), "format": file_format, "rows": rows,
                   "sha256": sha256, "size_bytes": size, "listener": dropped.listener,
                   "export_id": sha256[:EXPORT_ID_HEX], "ingested_at": datetime.now(UTC).isoformat()})
    log.info("spotify export %s: %d %s rows of listener %s into %s", dropped.name, rows, file_format,
             dropped.listener, partition)
    result["files_ingested"] += 1
    result["rows_by_format"][file_format] += rows
    return INGESTED_NOW


def _ingest_file(inbox: LakePath, lake_root: LakePath, dropped: DroppedFile, result: dict) -> None:
    digest = file_digest(dropped)
    outcome, reason = _take(dropped, lake_root, result, digest)
    if outcome == REJECTED_NOW:
        _reject(inbox, dropped, reason)
        return
    moved = keep_ingested(inbox, dropped, digest[0])
    if outcome == ACCOUNT_FILE:
        log.info("spotify export %s is account data Spotify ships beside the streaming history, not plays: "
                 "skipped (moved to %s)", dropped.name, printable(moved))


def _ingest_archive(inbox: LakePath, lake_root: LakePath, archive: DroppedFile, result: dict) -> None:
    """Every export in a zip archive, read from it as if unzipped; its account-data files skipped with
    one line; its files that are not exports copied to ``_rejected/`` with their reasons; then the
    archive moved to ``_ingested/``. An archive that cannot be read is rejected whole."""
    try:
        members = archive_members(archive)
    except ARCHIVE_ERRORS as exc:
        result["files_rejected"] += 1
        reason = f"a zip archive that cannot be read: {exc}"
        result["rejected"].append({"file": archive.name, "reason": reason})
        _reject(inbox, archive, reason)
        return
    account_files = []
    for member in members:
        outcome, reason = _take(member, lake_root, result)
        if outcome == REJECTED_NOW:
            _reject(inbox, member, reason)
        elif outcome == ACCOUNT_FILE:
            account_files.append(member.relative.name)
    moved = keep_ingested(inbox, archive, file_digest(archive)[0])
    log.info("spotify archive %s: %d files read (moved to %s)%s", archive.name, len(members), printable(moved),
             f"; {len(account_files)} account-data files Spotify ships beside the history skipped: "
             f"{', '.join(account_files)}" if account_files else "")


def ingest_exports(inbox: str | os.PathLike | None = None, lake_root: str | os.PathLike | None = None) -> dict:
    """Ingest every export waiting in the inbox into bronze, zip archives' too; returns what this call
    did (a retried task's earlier attempt moved its files away, so they are not counted again):
    ``files_ingested``, ``files_skipped`` (already in bronze), ``files_account_data`` (Spotify's other
    account files, skipped), ``files_rejected``, ``rows_by_format`` (rows written per format, every
    format present), ``rejected`` (the rejected files' paths relative to the inbox, with their reasons)
    and ``counts_cover`` saying that.

    Ingested, skipped and account-data files (and read archives) are moved to ``<listener>/_ingested/``;
    rejected ones to ``_rejected/``. A file that cannot be read at all (permissions, disk) raises: that
    is not the file's fault, and it stays where it is for the retry. So does a folder Pulse keeps that
    is a link (:class:`pulse.inbox.UnsafeInbox`). The inbox and the lake default to the configured ones."""
    inbox, lake_root = _where(inbox, lake_root)
    result: dict[str, Any] = {"files_ingested": 0, "files_skipped": 0, "files_account_data": 0,
                              "files_rejected": 0, "rows_by_format": dict.fromkeys(FORMATS, 0), "rejected": [],
                              "counts_cover": COUNTS_COVER}
    for dropped in dropped_files(inbox):
        if dropped.problem is not None:
            result["files_rejected"] += 1
            result["rejected"].append({"file": dropped.name, "reason": dropped.problem})
            _reject(inbox, dropped, dropped.problem)
        elif is_zip_archive(dropped.path):
            _ingest_archive(inbox, lake_root, dropped, result)
        else:
            _ingest_file(inbox, lake_root, dropped, result)
    log.info("spotify exports, this attempt: %d ingested, %d skipped (already in bronze), %d account-data files "
             "skipped, %d rejected; rows %s", result["files_ingested"], result["files_skipped"],
             result["files_account_data"], result["files_rejected"], result["rows_by_format"])
    return result
