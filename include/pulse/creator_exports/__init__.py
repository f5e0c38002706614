"""Creator exports: tell a dropped file's format by its content, and read it into plain typed rows.

What a creator downloads from YouTube Studio, Instagram (Insights, Meta Business Suite) and TikTok
Studio, told apart by the header row (never by the file's name) and read with every quirk of the
real files handled: a ``Total`` row, localised numbers, dates without a year, a literal
``undefined``, quoted titles with commas, line breaks and emoji, a byte-order mark and CRLF. The
formats and rules are written out in ``docs/creator_exports.md``.

The API, for the creator inbox's ingest::

    detection = detect_export(f)          # f: a seekable binary file, or a zip member
    if detection.archive:                 # a zip: each of export_members(f) is one file to detect
        ...
    elif detection.format is None:        # not an export: detection.reason says why;
        ...                               # detection.skip: a known companion file, skip it
    else:
        export = read_export(f, detection.format, ExportContext(name=..., as_of=...))
        export.facts                      # account, period, number convention, definitions, totals
        for row in export.rows: ...       # dicts: platform, format, line, content_id, ..., metric_definition

:func:`read_export` reads the whole file before it returns, so a bad line raises :class:`BadExport`
(naming the file and line) before any row is handed out; the rows are then streamed from the file
again. Rows hold no viewer-level or account-identity fields: columns the formats do not list are
left out and named in ``facts.ignored_columns``; the account's own identity goes to the facts.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any, BinaryIO

from pulse.creator_exports import instagram, tiktok, youtube_studio
from pulse.creator_exports.tables import (
    ACCOUNT,
    COUNT,
    DURATION,
    NUMERIC,
    RAW,
    TEXT,
    BadExport,
    Layout,
    csv_header,
    csv_rows,
    is_workbook,
    normal_header,
    sheet_rows,
    text_encoding,
    workbook_sheets,
)
from pulse.creator_exports.values import (
    DECIMAL_COMMA,
    DECIMAL_POINT,
    BadValue,
    NumberConvention,
    decimal_separator_shown,
    is_missing,
    is_missing_text,
    parse_duration_seconds,
    parse_number,
    slashed_first_number,
)

__all__ = ["BadExport", "Detection", "ExportContext", "ExportFacts", "ExportFormat", "ParsedExport",
           "detect_export", "export_members", "open_member", "read_export"]

HEAD_BYTES = 64 * 1024
"""How much of a file :func:`detect_export` reads: a header row is far shorter."""
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


class ExportFormat(StrEnum):
    """The creator exports Pulse reads."""

    YOUTUBE_STUDIO_TABLE = youtube_studio.TABLE
    YOUTUBE_STUDIO_CHART = youtube_studio.CHART
    YOUTUBE_STUDIO_TOTALS = youtube_studio.TOTALS
    INSTAGRAM_INSIGHTS_POSTS = instagram.INSIGHTS
    INSTAGRAM_META_BUSINESS_SUITE_POSTS = instagram.META_POSTS
    TIKTOK_STUDIO_CONTENT = tiktok.CONTENT
    TIKTOK_STUDIO_OVERVIEW = tiktok.OVERVIEW


LAYOUTS: tuple[Layout, ...] = (*instagram.LAYOUTS, *tiktok.LAYOUTS, *youtube_studio.LAYOUTS)
_READ = {layout.format: layout for layout in LAYOUTS if layout.not_read is None}
_DATED = (youtube_studio.CHART, youtube_studio.TOTALS, tiktok.OVERVIEW)


@dataclass(frozen=True)
class Detection:
    """What :func:`detect_export` found: an export's ``format``, or None with the ``reason``."""

    format: ExportFormat | None
    reason: str
    """What the file is (an export's description), or why it is not an export."""
    skip: bool = False
    """A file the platform ships beside its exports (TikTok's audience files): skip it, not reject it."""
    archive: bool = False
    """A zip archive (not a workbook): its files (:func:`export_members`) are detected one by one."""
    sheet: str | None = None
    """The worksheet that holds the export, for an xlsx workbook."""


@dataclass(frozen=True)
class ExportContext:
    """What the reader is told about a file beyond its bytes."""

    name: str = "export"
    """How errors name it: its path in the inbox, a zip member's after its archive's. Its folder or zip
    name (``Content 2026-09-12_2026-10-01 <Channel>``) gives a YouTube Studio export's period."""
    as_of: date | None = None
    """The day the file was downloaded (at the latest, the day it was dropped): dates without a year are
    read as the latest such day on or before it. Default: today (UTC)."""
    period: tuple[date, date] | None = None
    """A YouTube Studio Table data's period when its name does not say it (e.g. from its Totals)."""
    account: str | None = None
    """The account, when the file does not say it (the inbox folder it was dropped in)."""


@dataclass(frozen=True)
class ExportFacts:
    """What holds for the whole export."""

    name: str
    format: ExportFormat
    platform: str
    account: str | None
    """Meta's ``Account username``, TikTok's ``@handle`` in the video links, the channel in a Studio
    export's folder name, or the context's account."""
    period_start: date | None
    period_end: date | None
    """The days the figures cover: a Studio export's period, the first and last day of a daily file."""
    as_of: date
    number_convention: str
    """How the file writes 1234.5: ``1,234.5`` or ``1.234,5``."""
    rows: int
    metric_definitions: tuple[str, ...]
    """The view definitions of its rows (:mod:`pulse.creator_exports.definitions`), sorted."""
    totals: dict[str, Any] | None
    """A Studio Table data's ``Total`` row (its metrics), else None."""
    ignored_columns: tuple[str, ...]
    """Columns the format does not list, left out of the rows (as the file wrote them)."""


@dataclass
class ParsedExport:
    """A read export: its facts, and its rows (an iterator, streamed from the file)."""

    facts: ExportFacts
    rows: Iterator[dict[str, Any]]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.rows


def _match(headers: list[str]) -> Layout | None:
    return next((layout for layout in LAYOUTS if layout.matches(headers)), None)


def _summary(headers: list[str]) -> str:
    shown = ", ".join(repr(h) for h in headers[:6])
    return shown + (", …" if len(headers) > 6 else "")


NOT_AN_EXPORT = ("no creator export's: Pulse reads YouTube Studio's Table data, Chart data and Totals, Instagram's "
                 "per-post Insights and Meta Business Suite exports, and TikTok Studio's Content and Overview")


def _detect_headers(headers: list[str], what: str) -> Detection:
    normal = [normal_header(h) for h in headers]
    if not any(normal):
        return Detection(None, f"{what} has an empty first row: no header")
    layout = _match(normal)
    if layout is None:
        return Detection(None, f"{what} has a header ({_summary(headers)}) that is {NOT_AN_EXPORT}")
    if layout.not_read is not None:
        return Detection(None, f"{layout.description}: {layout.not_read}", skip=layout.skip)
    return Detection(ExportFormat(layout.format), layout.description)


def detect_export(f: BinaryIO | bytes) -> Detection:
    """The export format of the open, seekable binary file ``f`` (a file, or a zip member), told by
    its content; ``f`` is left where it was. Reads the first :data:`HEAD_BYTES` of a CSV, the header
    row of each sheet of an xlsx workbook. ``f`` may also be bytes: a CSV's head is enough, a zip or
    workbook needs all of it."""
    if isinstance(f, bytes | bytearray):
        f = io.BytesIO(f)
    start = f.tell()
    head = f.read(HEAD_BYTES)
    f.seek(start)
    if not head.strip():
        return Detection(None, "the file is empty" if not head else "the file holds only blank space")
    if head[:4] in ZIP_MAGIC:
        if not is_workbook(f):
            return Detection(None, "a zip archive: each file in it is read on its own", archive=True)
        return _detect_workbook(f)
    if b"\x00" in head and text_encoding(head) != "utf-16":
        return Detection(None, "binary data, not a CSV export (it holds NUL bytes)")
    header = csv_header(head)
    if header is None:
        return Detection(None, "not text in UTF-8 (or UTF-16 with a byte-order mark): not a CSV export")
    first = header[0].lstrip("\ufeff \t") if header else ""
    if first.startswith(("{", "[")):
        return Detection(None, "JSON, not a CSV export (a Spotify streaming history belongs in the Spotify inbox)")
    return _detect_headers(header, "the CSV")


def _detect_workbook(f: BinaryIO) -> Detection:
    try:
        sheets = workbook_sheets(f)
    except BadExport:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        return Detection(None, f"an xlsx workbook that cannot be read: {type(exc).__name__}: {exc}")
    found = [(title, _detect_headers(headers, f"sheet {title!r}")) for title, headers in sheets]
    for title, detection in found:
        if detection.format is not None:
            return Detection(detection.format, f"{detection.reason} (xlsx, sheet {title!r})", sheet=title)
    if found and all(detection.skip for _, detection in found):
        return Detection(None, found[0][1].reason, skip=True)
    reasons = "; ".join(detection.reason for _, detection in found) or "it has no sheet"
    return Detection(None, f"an xlsx workbook with no export in it: {reasons}")


def export_members(f: BinaryIO) -> list[str]:
    """The files of the zip archive ``f`` to detect, in order: folders, names with a part starting with
    ``.`` and macOS's ``__MACOSX`` left out. ``f`` is rewound. Raises :class:`zipfile.BadZipFile` when
    it cannot be read."""
    start = f.tell()
    try:
        with zipfile.ZipFile(f) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
    finally:
        f.seek(start)
    return sorted(name for name in names
                  if not any(part.startswith(".") or part == "__MACOSX" for part in PurePosixPath(name).parts))


@contextmanager
def open_member(f: BinaryIO, member: str) -> Iterator[BinaryIO]:
    """One file of the zip archive ``f``, decompressed as it is read (seekable, never extracted)."""
    with zipfile.ZipFile(f) as archive, archive.open(member) as opened:
        yield opened


# --- reading ------------------------------------------------------------------------------------

@dataclass
class _RowContext:
    """What a layout's row builder may read (the day, period, date order) and note (accounts, totals)."""

    as_of: date
    period_start: date | None = None
    period_end: date | None = None
    day_first: bool = False
    instagram_definition: str | None = None
    accounts: set[str] = field(default_factory=set)
    totals: dict[str, Any] | None = None


def _row_source(f: BinaryIO, layout: Layout, name: str) -> Callable[[], Iterator[tuple[int, list[Any]]]]:
    start = f.tell()
    if f.read(4) in ZIP_MAGIC:
        f.seek(start)
        if not is_workbook(f):
            raise BadExport(f"{name}: a zip archive, not one export: read each of its files")
        sheet = next((title for title, headers in workbook_sheets(f)
                      if layout.matches([normal_header(h) for h in headers])), None)
        if sheet is None:
            raise BadExport(f"{name}: no sheet of the workbook is a {layout.description}")

        def rows() -> Iterator[tuple[int, list[Any]]]:
            f.seek(start)
            yield from sheet_rows(f, sheet)
        return rows

    def csv_source() -> Iterator[tuple[int, list[Any]]]:
        f.seek(start)
        line = 0
        try:
            for line, cells in csv_rows(f):
                yield line, cells
        except UnicodeDecodeError as exc:
            raise BadExport(f"{name} after line {line}: not UTF-8 text ({exc.reason})") from exc
        except csv.Error as exc:
            raise BadExport(f"{name} after line {line}: not readable as CSV: {exc}") from exc
    return csv_source


def _plan(headers: list[Any], layout: Layout, name: str) -> tuple[list[tuple[int, str, str, str]], tuple[str, ...]]:
    """Which cell goes to which row key, as what; and the columns left out."""
    plan, ignored, seen = [], [], {}
    for index, header in enumerate(headers):
        column = layout.column(normal_header(header))
        if column is None:
            if str(header).strip():
                ignored.append(str(header).strip())
            continue
        key, kind = column
        if key in seen:
            raise BadExport(f"{name} line 1: columns {seen[key]!r} and {str(header)!r} both hold {key}")
        seen[key] = str(header)
        plan.append((index, key, kind, str(header).strip()))
    return plan, tuple(ignored)


def _data_rows(rows: Iterator[tuple[int, list[Any]]], width: int, name: str) -> Iterator[tuple[int, list[Any]]]:
    for line, cells in rows:
        if all(isinstance(c, str) and not c.strip() for c in cells):
            continue  # a blank line (Excel leaves some at the end)
        if len(cells) != width:
            raise BadExport(f"{name} line {line}: {len(cells)} cells where the header has {width} (a quote "
                            "not closed, or a comma outside quotes?)")
        yield line, cells


def _evidence(rows, plan) -> tuple[dict[str, int], int | None, int | None]:
    """Decimal separator → the first line proving it; the first lines proving day-first and month-first
    slashed dates."""
    shown: dict[str, int] = {}
    day_first_line = month_first_line = None
    for line, cells in rows:
        for index, key, kind, _ in plan:
            cell = cells[index]
            if not isinstance(cell, str):
                continue
            if kind in NUMERIC:
                separator = decimal_separator_shown(cell, kind == COUNT)
                if separator is not None:
                    shown.setdefault(separator, line)
            elif key == "published" and (first := slashed_first_number(cell)) is not None:
                second = int(cell.strip().split("/")[1])
                if first > 12:
                    day_first_line = day_first_line or line
                if second > 12:
                    month_first_line = month_first_line or line
    return shown, day_first_line, month_first_line


def _convention(source, plan, width: int, name: str) -> tuple[NumberConvention, bool]:
    """The file's number convention and whether its slashed dates put the day first (the first pass)."""
    with closing(source()) as rows:
        next(rows, None)
        shown, day_first_line, month_first_line = _evidence(_data_rows(rows, width, name), plan)
    if len(shown) > 1:
        raise BadExport(f"{name}: numbers are written two ways: line {shown['.']} has '.' as the decimal "
                        f"separator, line {shown[',']} has ','")
    if day_first_line and month_first_line:
        raise BadExport(f"{name}: dates are written two ways: line {day_first_line} puts the day first, line "
                        f"{month_first_line} the month")
    return (DECIMAL_COMMA if "," in shown else DECIMAL_POINT), bool(day_first_line)


def _values(cells: list[Any], plan, convention: NumberConvention, ctx: _RowContext) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for index, key, kind, header in plan:
        cell = cells[index]
        try:
            if kind == ACCOUNT:
                if not is_missing(str(cell)) and key == "account_username":
                    ctx.accounts.add(str(cell).strip())
            elif kind == TEXT:
                values[key] = None if is_missing_text(str(cell)) else str(cell).strip()
            elif kind in NUMERIC:
                values[key] = _number(cell, convention, kind == COUNT)
            elif kind == DURATION:
                values[key] = int(cell) if isinstance(cell, int | float) else parse_duration_seconds(cell)
            elif kind == RAW:
                values[key] = cell
        except BadValue as exc:
            raise BadValue(f"{header}: {exc}") from exc
    return values


def _number(cell: Any, convention: NumberConvention, whole: bool) -> int | float | None:
    if isinstance(cell, int | float):  # a number an xlsx cell holds as a number
        if whole and not float(cell).is_integer():
            raise BadValue(f"{cell!r} is not a whole number (a count)")
        return int(cell) if whole else float(cell)
    return parse_number(str(cell), convention, whole)


def read_export(f: BinaryIO, fmt: ExportFormat | str, context: ExportContext | None = None) -> ParsedExport:
    """The rows and facts of the export of format ``fmt`` in the open, seekable binary file ``f`` (a
    CSV, an xlsx workbook, or a zip member). Every row is checked before this returns: a file that
    is not a ``fmt`` export, or a cell that cannot be read, raises :class:`BadExport` naming the file
    and line. The rows are then streamed from the file: keep it open while iterating."""
    context = context or ExportContext()
    fmt = ExportFormat(fmt)
    layout = _READ[fmt]
    name = context.name
    source = _row_source(f, layout, name)
    with closing(source()) as records:
        first = next(records, None)
    if first is None:
        raise BadExport(f"{name}: the file is empty")
    headers = first[1]
    if not layout.matches([normal_header(h) for h in headers]):
        raise BadExport(f"{name} line {first[0]}: the header ({_summary(headers)}) is not a "
                        f"{layout.description}'s")
    plan, ignored = _plan(headers, layout, name)
    convention, day_first = _convention(source, plan, len(headers), name)
    ctx = _RowContext(as_of=context.as_of or datetime.now(UTC).date(), day_first=day_first)
    named = youtube_studio.period_from_name(name) if layout.platform == youtube_studio.PLATFORM else None
    if context.period is not None:
        ctx.period_start, ctx.period_end = context.period
    elif named is not None:
        ctx.period_start, ctx.period_end = named[0], named[1]
    if fmt == ExportFormat.INSTAGRAM_META_BUSINESS_SUITE_POSTS:
        ctx.instagram_definition = instagram.meta_definition([normal_header(h) for h in headers])

    def rows() -> Iterator[dict[str, Any]]:
        with closing(source()) as raw:
            next(raw, None)
            for line, cells in _data_rows(raw, len(headers), name):
                try:
                    row = layout.build(_values(cells, plan, convention, ctx), ctx)
                except BadValue as exc:
                    raise BadExport(f"{name} line {line}: {exc}") from exc
                if row is not None:
                    yield {"platform": layout.platform, "format": fmt.value, "line": line, **row}

    count, days, definitions = 0, [], set()
    with closing(rows()) as checked:  # the checking pass: every cell read, facts gathered, nothing kept
        for row in checked:
            count += 1
            definitions.add(row["metric_definition"])
            if fmt.value in _DATED:
                days.append(row["date"])
    if len(ctx.accounts) > 1:
        raise BadExport(f"{name}: rows of {len(ctx.accounts)} accounts ({', '.join(sorted(ctx.accounts))}): "
                        "one export is one account's")
    account = context.account or next(iter(ctx.accounts), None) or (named[2] if named else None)
    start, end = ctx.period_start, ctx.period_end
    if start is None and days:
        start, end = min(days), max(days)
    facts = ExportFacts(name=name, format=fmt, platform=layout.platform, account=account, period_start=start,
                        period_end=end, as_of=ctx.as_of, number_convention=convention.example,
                        rows=count, metric_definitions=tuple(sorted(definitions)), totals=ctx.totals,
                        ignored_columns=ignored)
    return ParsedExport(facts, rows())
