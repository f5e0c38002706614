"""Creator exports: the inbox creators drop their downloads into → bronze.

A creator (or their analyst) drops what YouTube Studio, Instagram (Insights, Meta Business Suite) or
TikTok Studio gave them into ``<inbox>/<account>/``: a Studio export's ``Table data.csv``,
``Chart data.csv`` and ``Totals.csv`` (or the zip Studio downloads), an Instagram per-post CSV, a
TikTok Studio csv or xlsx (usually zipped). Any file name, sub-folders allowed. The inbox is
``PULSE_CREATOR_INBOX`` (default ``$PULSE_HOME/inbox/creator``); an account's name is its folder's,
1-64 of ``[A-Za-z0-9_.-]``, and is the name its rows are filed under.

A file's format is told by its content (:func:`pulse.creator_exports.detect_export`), never by its name,
and read with every quirk of the real files handled (:func:`pulse.creator_exports.read_export`; the
formats and rules are in ``docs/creator_exports.md``). A zip archive is read as if unzipped, member by
member, nothing extracted; an xlsx workbook holding several exports (TikTok's Content and Overview
sheets) gives each of them.

**Bronze.** Each export becomes one partition of the bronze table of its format,
``bronze/creator/<format>/account=<account>/export=<first 16 hex digits of the file's sha256>/``
(``<format>``: ``youtube_studio_table``, ``youtube_studio_chart``, ``youtube_studio_totals``,
``instagram_insights_posts``, ``instagram_meta_business_suite_posts``, ``tiktok_studio_content``,
``tiktok_studio_overview``): one row per row the reader gives, its payload the typed row as JSON (dates
as ``YYYY-MM-DD``) plus ``as_of``, the day the export was downloaded. ``request_url`` is
``inbox:<account>/<its path>`` (a zip member's after its archive's). The manifest beside it names the file
and member, the whole sha256, size, format, rows, the export's own account name (Meta's username,
TikTok's handle, a Studio export's channel), its period, number convention, view definitions, Studio's
``Total`` row and the columns left out.

**Nothing counts twice.**

- *The same file twice* (under any name, loose or in a zip): its partition is named by its content, so
  it is found in bronze and skipped with a log line.
- *Overlapping exports* (the same posts or days in two files): bronze keeps every export as it
  arrived; a row's natural key is :func:`natural_key` (account, platform, ``content_id``, ``date``,
  ``period_start``, ``period_end``) and the **latest export wins**: of the rows sharing a key, the one
  whose export was downloaded last (``as_of``), then ingested last (``ingested_at``), then the later
  row of the file (``record_index``). :func:`latest_rows` applies the rule; the cross-platform silver,
  when it reads these tables, must apply the same.
  Rows over two different periods (two Studio Table data of different date ranges) are different
  keys: they are never added together, since the days they share would count twice.

**The moves** are the Spotify inbox's (:mod:`pulse.inbox`): an ingested file (or a read zip) moves to
``<account>/_ingested/``; a file that is not an export (or cannot be read as its format, or is in the
inbox root, or in a folder whose name is not an account name, or is a symbolic link: no link is ever
followed) moves to ``_rejected/<account>/<its path>`` with ``<name>.reason.txt`` beside it, and one in a
zip is copied there. A file the platforms ship beside their exports (TikTok's audience files) is
skipped with a log line, not rejected. Names starting with ``.`` are not looked at (copy a large file in
as ``.name``, then rename it).

A YouTube Studio Table data does not say its period: it comes from its folder or zip name (``Content
2026-04-07_2026-05-04 <Channel>``, as Studio names it) or, failing that, from the Totals file beside it
(the same folder, or the same folder of the zip). Without either, its views' definition is
``youtube_views_unknown``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pulse import inbox
from pulse.config import inbox_root as configured_inbox_root
from pulse.config import lake_root as configured_lake_root
from pulse.creator_exports import (
    LAYOUTS,
    BadExport,
    ExportContext,
    ExportFormat,
    ParsedExport,
    detect_export,
    read_export,
)
from pulse.creator_exports.tables import normal_header, workbook_sheets
from pulse.creator_exports.youtube_studio import period_from_name
from pulse.inbox import (
    ARCHIVE_ERRORS,
    archive_members,
    file_digest,
    is_zip_archive,
    keep_ingested,
    owned_files,
    printable,
    reject,
)
from pulse.lake import MANIFEST_NAME, BronzePartitionWriter, bronze_partition_path, read_bronze
from pulse.lake_storage import is_remote, lake_path

if TYPE_CHECKING:
    from pulse.lake_storage import LakePath

log = logging.getLogger(__name__)

SOURCE = "creator"
DATASETS = tuple(fmt.value for fmt in ExportFormat)
"""The bronze tables of the inbox, one per export format, under ``bronze/creator/``."""
ACCOUNT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
EXPORT_ID_HEX = 16
ROWS_PER_PAGE = 10_000
"""Rows handed to the bronze writer at a time; a "page" of an export is this many of its rows."""
KEY_FIELDS = ("platform", "content_id", "date", "period_start", "period_end")
"""A row's natural key within its account and format (:func:`natural_key`)."""
COUNTS_COVER = ("this attempt: files an earlier attempt of the same task moved out of the inbox are in bronze, "
                "but not in these counts")
_STUDIO_TABLE, _STUDIO_TOTALS = ExportFormat.YOUTUBE_STUDIO_TABLE, ExportFormat.YOUTUBE_STUDIO_TOTALS


@dataclass(frozen=True)
class CreatorFile(inbox.DroppedFile):
    """A file found in the creator inbox, or a file inside a zip archive found there
    (:class:`pulse.inbox.DroppedFile`), its owner an account."""

    @property
    def account(self) -> str | None:
        """Whose export it is: its account folder (None: no valid account)."""
        return self.owner

    @property
    def folder_key(self) -> tuple[str, str]:
        """What files of one Studio export share: the folder it is in (a zip's folder for a member)."""
        if self.member is None:
            return printable(self.path.parent), ""
        return printable(self.path), str(PurePosixPath(self.member).parent)


class NotAnExport(Exception):
    """A dropped file is not a creator export Pulse reads; the message says why."""


def inbox_root() -> LakePath:
    """The creator inbox: ``PULSE_CREATOR_INBOX`` (a directory or an Azure URI), default
    ``$PULSE_HOME/inbox/creator``."""
    location = configured_inbox_root(SOURCE)
    return lake_path(location) if is_remote(location) else Path(location).resolve()


def dropped_files(root: str | os.PathLike) -> list[CreatorFile]:
    """Every file waiting in the inbox (:func:`pulse.inbox.owned_files`, the owners accounts)."""
    return owned_files(lake_path(root), "account", ACCOUNT_NAME, CreatorFile)


def export_partition(lake_root: str | os.PathLike, dataset: str, account: str, sha256: str) -> LakePath:
    """The bronze partition of an account's export of one format:
    ``bronze/creator/<format>/account=<a>/export=<sha[:16]>``."""
    return bronze_partition_path(lake_root, SOURCE, dataset, None,
                                 (("account", account), ("export", sha256[:EXPORT_ID_HEX])))


def _in_bronze(lake_root: LakePath, dataset: str, account: str, sha256: str) -> bool:
    return (export_partition(lake_root, dataset, account, sha256) / MANIFEST_NAME).is_file()


def _in_any_bronze(lake_root: LakePath, account: str, sha256: str) -> bool:
    return any(_in_bronze(lake_root, dataset, account, sha256) for dataset in DATASETS)


def _where(root: str | os.PathLike | None, lake_root: str | os.PathLike | None) -> tuple[LakePath, LakePath]:
    return (lake_path(root) if root is not None else inbox_root(),
            lake_path(lake_root or configured_lake_root()))


def pending_exports(root: str | os.PathLike | None = None,
                    lake_root: str | os.PathLike | None = None) -> list[LakePath]:
    """The files in the inbox that :func:`ingest_exports` has work for: not yet in bronze (files that
    will be rejected or skipped included, so they are handled). Empty when there is nothing to do; a
    file dropped again that is already in bronze is not work (it moves to ``_ingested/`` with the next
    ingest). The inbox and the lake default to the configured ones."""
    root, lake_root = _where(root, lake_root)
    pending = []
    for dropped in dropped_files(root):
        if dropped.problem is not None or dropped.account is None:
            pending.append(dropped.path)
        elif not is_zip_archive(dropped.path) or _is_workbook(dropped):
            if not _in_any_bronze(lake_root, dropped.account, file_digest(dropped)[0]):
                pending.append(dropped.path)
        elif _archive_has_work(dropped, lake_root):
            pending.append(dropped.path)
    return pending


def _is_workbook(dropped: CreatorFile) -> bool:
    with dropped.open() as f:
        return detect_export(f).archive is False


def _archive_has_work(archive: CreatorFile, lake_root: LakePath) -> bool:
    try:
        return any(not _in_any_bronze(lake_root, member.account, file_digest(member)[0])
                   for member in archive_members(archive))
    except ARCHIVE_ERRORS:
        return True  # to be rejected


def natural_key(row: dict[str, Any], account: str) -> tuple:
    """The key two rows of one format share when they are the same post or day: the account, then
    :data:`KEY_FIELDS` of the (bronze) row."""
    return (account, *(row.get(name) for name in KEY_FIELDS))


def latest_rows(lake_root: str | os.PathLike, dataset: str) -> list[dict[str, Any]]:
    """The rows of a bronze table of the inbox with the **latest export wins** rule applied: one row per
    :func:`natural_key`, the one of the export downloaded last (``as_of``), then ingested last
    (``ingested_at``), then the later in its file (``record_index``). Each row is its payload with its
    ``account`` and ``export``. Empty when the table does not exist."""
    table_path = lake_path(lake_root) / "bronze" / SOURCE / dataset
    if not (table_path / "_delta_log").is_dir():
        return []
    table = read_bronze(table_path, ["payload", "ingested_at", "record_index", "account", "export"])
    best: dict[tuple, tuple[tuple, dict]] = {}
    for record in table.to_pylist():
        row = {**json.loads(record["payload"]), "account": record["account"], "export": record["export"]}
        order = (row.get("as_of") or "", record["ingested_at"], record["record_index"])
        key = natural_key(row, record["account"])
        if key not in best or order > best[key][0]:
            best[key] = (order, row)
    return [row for _, row in sorted(best.values(), key=lambda kept: kept[0])]


# --- reading one export ---------------------------------------------------------------------------------

def _dropped_on(path: LakePath) -> date:
    """The day a file was downloaded, at the latest: its modification day (UTC), never after today."""
    today = datetime.now(UTC).date()
    if not isinstance(path, Path):
        return today
    return min(datetime.fromtimestamp(path.lstat().st_mtime, UTC).date(), today)


def _workbook_formats(f) -> list[ExportFormat]:
    """Every export format Pulse reads found in an xlsx workbook's sheets, in sheet order."""
    found: list[ExportFormat] = []
    for _, headers in workbook_sheets(f):
        normal = [normal_header(h) for h in headers]
        for layout in LAYOUTS:
            if layout.not_read is None and layout.matches(normal) and layout.format not in found:
                found.append(ExportFormat(layout.format))
                break
    return found


def _formats(dropped: CreatorFile) -> tuple[list[ExportFormat], str | None]:
    """The formats the file holds (several for a workbook); empty with the reason when it holds none.
    Raises :class:`NotAnExport` when it is not an export, saying why."""
    with dropped.open() as f:
        detection = detect_export(f)
        if detection.archive:
            raise NotAnExport("a zip archive inside a zip archive: unzip the outer one and drop what it holds")
        if detection.format is None:
            if detection.skip:
                return [], detection.reason
            raise NotAnExport(detection.reason)
        if detection.sheet is None:
            return [detection.format], None
        return _workbook_formats(f), None


def _studio_periods(units: Iterable[CreatorFile]) -> dict[tuple[str, str], tuple[date, date]]:
    """The period of each folder (a zip's folders too) holding a YouTube Studio Totals: a Table data beside
    it, whose name does not say its period, covers the same days."""
    periods: dict[tuple[str, str], tuple[date, date]] = {}
    for unit in units:
        try:
            with unit.open() as f:
                if detect_export(f).format != _STUDIO_TOTALS:
                    continue
                facts = read_export(f, _STUDIO_TOTALS, ExportContext(name=unit.name)).facts
        except (BadExport, *ARCHIVE_ERRORS):
            continue  # it is rejected with its reason when its turn comes
        if facts.period_start is not None:
            periods[unit.folder_key] = (facts.period_start, facts.period_end)
    return periods


def _context(unit: CreatorFile, as_of: date, fmt: ExportFormat,
             periods: dict[tuple[str, str], tuple[date, date]]) -> ExportContext:
    period = None
    if fmt == _STUDIO_TABLE and period_from_name(unit.name) is None:
        period = periods.get(unit.folder_key)
    return ExportContext(name=unit.name, as_of=as_of, period=period)


def _write(unit: CreatorFile, export: ParsedExport, sha256: str, size: int, lake_root: LakePath) -> int:
    """One export into its bronze partition (replacing it, if a crashed attempt left one); returns its rows."""
    facts = export.facts
    writer = BronzePartitionWriter(lake_root, SOURCE, facts.format.value, None,
                                   (("account", unit.account), ("export", sha256[:EXPORT_ID_HEX])))
    request_url = f"inbox:{unit.name}"
    try:
        batch: list[dict] = []
        for row in export.rows:
            batch.append({**row, "as_of": facts.as_of})
            if len(batch) >= ROWS_PER_PAGE:
                writer.add_page(writer.pages + 1, request_url, batch)
                batch = []
        if batch:
            writer.add_page(writer.pages + 1, request_url, batch)
    except BaseException:
        writer.abort()
        raise
    writer.commit({"file_name": printable(unit.relative), "member": unit.member, "format": facts.format.value,
                   "platform": facts.platform, "rows": writer.records, "sha256": sha256, "size_bytes": size,
                   "account": unit.account, "export_account": facts.account,
                   "export_id": sha256[:EXPORT_ID_HEX], "as_of": facts.as_of,
                   "period_start": facts.period_start, "period_end": facts.period_end,
                   "number_convention": facts.number_convention,
                   "metric_definitions": list(facts.metric_definitions), "totals": facts.totals,
                   "ignored_columns": list(facts.ignored_columns),
                   "ingested_at": datetime.now(UTC).isoformat()})
    return writer.records


INGESTED_NOW, SKIPPED, COMPANION, REJECTED_NOW = "ingested", "skipped", "companion file", "rejected"


def _take(unit: CreatorFile, as_of: date, periods: dict, lake_root: LakePath, result: dict) -> tuple[str, str | None]:
    """Ingest one file (or zip member) and count it in ``result``; returns what became of it and, for a
    rejected one, why. Leaves moving the file to the caller."""
    try:
        sha256, size = file_digest(unit)
        formats, skip_reason = _formats(unit)
    except ARCHIVE_ERRORS as exc:
        return _rejected(unit, f"it cannot be read from its zip archive: {exc}", result)
    except NotAnExport as exc:
        return _rejected(unit, str(exc), result)
    if not formats:
        log.info("creator file %s skipped: %s", unit.name, skip_reason)
        result["files_companion"] += 1
        return COMPANION, None
    missing = [fmt for fmt in formats if not _in_bronze(lake_root, fmt.value, unit.account, sha256)]
    if not missing:
        log.info("creator export %s is already in bronze (export %s, same content): skipped", unit.name,
                 sha256[:EXPORT_ID_HEX])
        result["files_skipped"] += 1
        return SKIPPED, None
    try:
        with unit.open() as f:
            # Every format is read (and checked whole) before anything is written: a bad cell rejects the
            # file. The rows are then streamed from it again, one export at a time.
            exports = [read_export(f, fmt, _context(unit, as_of, fmt, periods)) for fmt in missing]
            for fmt, export in zip(missing, exports, strict=True):
                rows = _write(unit, export, sha256, size, lake_root)
                result["rows_by_format"][fmt.value] += rows
                log.info("creator export %s: %d %s rows of account %s into %s", unit.name, rows, fmt.value,
                         unit.account, export_partition(lake_root, fmt.value, unit.account, sha256))
    except BadExport as exc:
        return _rejected(unit, str(exc), result)
    except ARCHIVE_ERRORS as exc:
        return _rejected(unit, f"it cannot be read from its zip archive: {exc}", result)
    result["files_ingested"] += 1
    return INGESTED_NOW, None


def _rejected(unit: CreatorFile, reason: str, result: dict) -> tuple[str, str]:
    result["files_rejected"] += 1
    result["rejected"].append({"file": unit.name, "reason": reason})
    return REJECTED_NOW, reason


def _reject(root: LakePath, unit: CreatorFile, reason: str) -> None:
    text = (f"{unit.name} was rejected: {reason}\n"
            "It is not a creator export Pulse reads (YouTube Studio's Table data, Chart data and Totals, "
            "Instagram's per-post Insights or Meta Business Suite export, TikTok Studio's Content or Overview, "
            f"as csv, xlsx or in a zip archive; see docs/creator_exports.md). Fix it and drop it into "
            f"{printable(root)}/<account>/ again.\n")
    target = reject(root, unit, text)
    log.error("creator export %s rejected: %s (%s to %s)", unit.name, reason,
              "moved" if unit.member is None else "copied out of the archive", printable(target))


def ingest_exports(root: str | os.PathLike | None = None, lake_root: str | os.PathLike | None = None) -> dict:
    """Ingest every export waiting in the creator inbox into bronze, zip archives' too; returns what this
    call did (a retried task's earlier attempt moved its files away, so they are not counted again):
    ``files_ingested``, ``files_skipped`` (already in bronze), ``files_companion`` (the platforms' other
    files, skipped), ``files_rejected``, ``rows_by_format`` (rows written per format, every format
    present), ``rejected`` (the rejected files' paths under the inbox, with their reasons) and
    ``counts_cover`` saying that.

    Ingested, skipped and companion files (and read archives) move to ``<account>/_ingested/``; rejected
    ones to ``_rejected/``. A file that cannot be read at all (permissions, disk) raises, and stays where
    it is for the retry; so does a folder Pulse keeps that is a link (:class:`pulse.inbox.UnsafeInbox`).
    The inbox and the lake default to the configured ones."""
    root, lake_root = _where(root, lake_root)
    result: dict[str, Any] = {"files_ingested": 0, "files_skipped": 0, "files_companion": 0, "files_rejected": 0,
                              "rows_by_format": dict.fromkeys(DATASETS, 0), "rejected": [],
                              "counts_cover": COUNTS_COVER}
    work: list[tuple[CreatorFile, list[CreatorFile] | None]] = []
    for dropped in dropped_files(root):
        if dropped.problem is not None:
            _rejected(dropped, dropped.problem, result)
            _reject(root, dropped, dropped.problem)
        elif is_zip_archive(dropped.path) and not _is_workbook(dropped):
            try:
                work.append((dropped, archive_members(dropped)))
            except ARCHIVE_ERRORS as exc:
                reason = f"a zip archive that cannot be read: {exc}"
                _rejected(dropped, reason, result)
                _reject(root, dropped, reason)
        else:
            work.append((dropped, None))
    periods = _studio_periods(unit for dropped, members in work for unit in (members or [dropped]))
    for dropped, members in work:
        as_of = _dropped_on(dropped.path)
        if members is None:
            outcome, reason = _take(dropped, as_of, periods, lake_root, result)
            if outcome == REJECTED_NOW:
                _reject(root, dropped, reason)
            else:
                keep_ingested(root, dropped, file_digest(dropped)[0])
            continue
        outcomes: dict[str, int] = defaultdict(int)
        for unit in members:
            outcome, reason = _take(unit, as_of, periods, lake_root, result)
            outcomes[outcome] += 1
            if outcome == REJECTED_NOW:
                _reject(root, unit, reason)
        moved = keep_ingested(root, dropped, file_digest(dropped)[0])
        log.info("creator archive %s: %d files read (%s), moved to %s", dropped.name, len(members),
                     ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())), printable(moved))
    log.info("creator exports, this attempt: %d ingested, %d skipped (already in bronze), %d companion files "
             "skipped, %d rejected; rows %s", result["files_ingested"], result["files_skipped"],
             result["files_companion"], result["files_rejected"],
             {k: v for k, v in result["rows_by_format"].items() if v})
    return result
