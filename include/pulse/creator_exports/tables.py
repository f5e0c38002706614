"""The rows of a CSV or xlsx export as cells, and the layouts that say what each column holds.

A CSV may start with a UTF-8 byte-order mark, or be UTF-16 with one (Meta's account exports), may
have a ``sep=,`` first line (Excel's hint), CRLF or LF line ends, quoted fields with commas, quotes
(``""``) and line breaks; a ``;``-separated file (Excel in decimal-comma locales) is read too. Every
row is read as text, streamed, with the line it starts on. An xlsx workbook is read with openpyxl
(read-only, streamed), its rows numbered as Excel numbers them.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, BinaryIO

TEXT, COUNT, DECIMAL, PERCENT, DURATION, RAW, ACCOUNT = "text", "count", "decimal", "percent", "duration", "raw", \
    "account"
"""What a column holds: text; a count (whole number); a decimal; a percentage as shown; a duration;
a cell a format reads itself (dates, ids); the account's own identity (kept out of rows, in facts)."""
NUMERIC = (COUNT, DECIMAL, PERCENT)

csv.field_size_limit(16 * 1024 * 1024)  # a caption may be long; a row is still bounded


class BadExport(ValueError):
    """An export that cannot be read; the message names the file and, where it is one row's fault,
    its line."""


@dataclass(frozen=True)
class Layout:
    """One export format's columns: ``columns`` maps a header (lower-cased) to its row key and kind;
    ``required`` are the headers that identify it; ``build`` turns one row's parsed cells into a typed
    row (None: the row is a total, kept in the facts instead)."""

    format: str
    platform: str
    description: str
    columns: dict[str, tuple[str, str]]
    required: frozenset[str]
    build: Callable[..., dict | None] | None = None
    first_column: str | None = None
    """The header the first column must have (YouTube's dimension), when it matters."""
    exact_columns: int | None = None
    """How many columns the file must have (YouTube's Totals: a date and one metric)."""
    not_read: str | None = None
    """Why a file of this layout, though recognised, is not read (None: it is read)."""
    skip: bool = False
    """A recognised file that is not read is skipped (a companion file in the platform's download),
    rather than rejected."""
    open_columns: Callable[[str], tuple[str, str] | None] | None = None
    """For headers not in ``columns``: a key and kind, or None (YouTube's metric columns)."""

    def column(self, header: str) -> tuple[str, str] | None:
        if header in self.columns:
            return self.columns[header]
        return self.open_columns(header) if self.open_columns else None

    def matches(self, headers: list[str]) -> bool:
        if not self.required <= set(headers):
            return False
        if self.first_column is not None and headers[0] != self.first_column:
            return False
        if self.exact_columns is not None and len(headers) != self.exact_columns:
            return False
        return self.open_columns is None or any(self.column(h) is not None and h not in self.required
                                                for h in headers)


def normal_header(cell: Any) -> str:
    return " ".join(str(cell if cell is not None else "").replace("\ufeff", "").split()).lower()


# --- CSV ----------------------------------------------------------------------------------------

def text_encoding(head: bytes) -> str:
    """The encoding of a CSV by its first bytes: UTF-16 with its BOM, else UTF-8 (a BOM dropped)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"


def _delimiter(first_line: str) -> str:
    return ";" if first_line.count(";") > first_line.count(",") else ","


def csv_rows(f: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """The records of the CSV in ``f`` from its current position, each with the line it starts on;
    the ``sep=`` line is skipped. ``f`` is left open. Raises :class:`UnicodeDecodeError` for bytes that
    are not text in the file's encoding."""
    start = f.tell()
    encoding = text_encoding(f.read(4))
    f.seek(start)
    text = io.TextIOWrapper(f, encoding=encoding, newline="")
    try:
        first = text.readline()
        line = 1
        delimiter = None
        if first.strip().lower().startswith("sep=") and len(first.strip()) == 5:
            delimiter = first.strip()[4]
            line = 2
            rest = text
        else:
            rest = _chain(first, text)
        if delimiter is None:
            delimiter = _delimiter(first)
        reader = csv.reader(rest, delimiter=delimiter, strict=False)
        consumed = line - 1
        for record in reader:
            yield consumed + 1, record
            consumed = reader.line_num + (line - 1)
    finally:
        try:
            text.detach()  # leave f open for the caller
        except ValueError:
            pass  # the caller closed f before this generator was closed: nothing to leave open


def _chain(first: str, rest: io.TextIOBase) -> Iterator[str]:
    if first:
        yield first
    for line in rest:  # noqa: UP028 - "yield from" would close the wrapper when this generator is closed
        yield line


def csv_header(head: bytes) -> list[str] | None:
    """The header record of a CSV from its first bytes, or None when they do not decode as text."""
    encoding = text_encoding(head)
    try:
        text = head.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the head
            return None
        text = head[:exc.start].decode(encoding)
    lines = text.splitlines(keepends=True)
    if lines and lines[0].strip().lower().startswith("sep=") and len(lines[0].strip()) == 5:
        delimiter = lines[0].strip()[4]
        lines = lines[1:]
    else:
        delimiter = _delimiter(lines[0]) if lines else ","
    for record in csv.reader(lines, delimiter=delimiter, strict=False):
        return record
    return []


# --- xlsx ---------------------------------------------------------------------------------------

def is_workbook(f: BinaryIO) -> bool:
    """True for an xlsx workbook (a zip archive holding ``xl/workbook.xml``); ``f`` is rewound."""
    start = f.tell()
    try:
        with zipfile.ZipFile(f) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError):
        return False
    finally:
        f.seek(start)


def _openpyxl():
    try:
        import openpyxl  # only xlsx needs it: imported when one is read
    except ImportError as exc:  # pragma: no cover - it is in requirements.txt
        raise BadExport("an xlsx export needs openpyxl (requirements.txt): install it") from exc
    return openpyxl


def workbook_sheets(f: BinaryIO) -> list[tuple[str, list[str]]]:
    """Each worksheet's name and header row (its first row) in an xlsx workbook; ``f`` is rewound."""
    start = f.tell()
    book = _openpyxl().load_workbook(f, read_only=True, data_only=True)
    try:
        sheets = []
        for sheet in book.worksheets:
            first = next(sheet.iter_rows(max_row=1, values_only=True), ())
            sheets.append((sheet.title, ["" if c is None else str(c) for c in first]))
        return sheets
    finally:
        book.close()
        f.seek(start)


def sheet_rows(f: BinaryIO, sheet: str) -> Iterator[tuple[int, list[Any]]]:
    """The rows of one worksheet, numbered as Excel numbers them, cells as openpyxl gives them
    (numbers stay numbers, dates become ISO text); empty trailing rows are left out."""
    book = _openpyxl().load_workbook(f, read_only=True, data_only=True)
    try:
        for number, row in enumerate(book[sheet].iter_rows(values_only=True), start=1):
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in row):
                continue
            yield number, [_cell(c) for c in row]
    finally:
        book.close()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value)
    return value

