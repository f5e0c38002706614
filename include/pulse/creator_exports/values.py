"""Cell values of creator exports: missing markers, localised numbers and dates, some without a year.

Everything here is a pure function of the text of one cell (and, for numbers, the file's convention),
so the readers and their tests share one set of rules. The rules are written out in
``docs/creator_exports.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

MISSING = frozenset({"", "undefined", "null", "none", "nan", "n/a", "-", "--", "—"})
"""Cell texts (compared lower-cased, stripped) that mean "no value": TikTok writes a literal
``undefined``, Studio leaves the cell empty, Meta writes ``N/A``."""


class BadValue(ValueError):
    """A cell that cannot be read as its column's type; the reader adds the file and line."""


TEXT_MISSING = frozenset({"", "undefined", "n/a"})
"""The missing markers of a text cell: a title may well be "-" or "None"."""


def is_missing(text: str) -> bool:
    return text.strip().lower() in MISSING


def is_missing_text(text: str) -> bool:
    return text.strip().lower() in TEXT_MISSING


# --- numbers --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NumberConvention:
    """How a file writes numbers: its decimal separator and its digit-group separator."""

    decimal: str
    group: str

    @property
    def example(self) -> str:
        return f"1{self.group}234{self.decimal}5"


DECIMAL_POINT = NumberConvention(".", ",")
DECIMAL_COMMA = NumberConvention(",", ".")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")  # a space, NBSP, narrow NBSP, thin space or ' groups digits too
_SUFFIXES = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def _split_suffix(text: str) -> tuple[str, int]:
    core = _SPACES.sub("", text.strip()).removesuffix("%")
    if core and core[-1].lower() in _SUFFIXES:
        return core[:-1], _SUFFIXES[core[-1].lower()]
    return core, 1


def decimal_separator_shown(text: str, whole: bool) -> str | None:
    """The decimal separator (``.`` or ``,``) that this number text proves its file uses, or None when
    it proves nothing. ``whole`` says the column holds counts (whole numbers), where a lone separator
    followed by three digits is a group separator (unless a K/M/B suffix follows).

    ``1.234,5``: the last of two different separators is the decimal one. ``1,234,567``: a separator
    seen twice groups digits. ``0,0615`` or ``6,32``: one separator not followed by exactly three
    digits is the decimal one (in a count too: ``1,5`` views then fails as no whole number). ``1,495``
    in a decimal column proves nothing (1.495 or 1495)."""
    core, factor = _split_suffix(text)
    if not core or not any(c.isdigit() for c in core):
        return None
    has_point, has_comma = "." in core, "," in core
    if has_point and has_comma:
        return "." if core.rfind(".") > core.rfind(",") else ","
    separator = "." if has_point else "," if has_comma else None
    if separator is None:
        return None
    other = "," if separator == "." else "."
    if core.count(separator) > 1:
        return other
    if factor > 1:
        return separator
    digits_after = len(core) - core.rfind(separator) - 1
    if digits_after != 3:
        return separator  # 6,32 or 0.0615: only a decimal separator is followed by other than three digits
    return other if whole else None  # 5,431: a count has no fraction, so it groups; 1,495 as a decimal: either


def parse_number(text: str, convention: NumberConvention, whole: bool) -> int | float | None:
    """The number in a cell written in the file's ``convention`` (None for a missing marker). ``whole``
    numbers (counts) must have no fractional part, except when written with a K/M/B suffix
    (``1.2K`` = 1200, rounded as the platform rounded it). A trailing ``%`` is dropped: the value is the
    percentage as shown (``6.31`` or ``6.31%`` → 6.31)."""
    if is_missing(text):
        return None
    core, factor = _split_suffix(text)
    integral = core.lstrip("+-").partition(convention.decimal)[0]
    groups = integral.split(convention.group)
    if len(groups) > 1 and not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
        raise BadValue(f"{text!r} is not a number as this file writes them ({convention.example}): "
                       f"{convention.group!r} groups digits in threes")
    core = core.replace(convention.group, "").replace(convention.decimal, ".")
    if _NUMBER.fullmatch(core) is None:
        raise BadValue(f"{text!r} is not a number")
    value = float(core) * factor
    if whole:
        if factor == 1 and not value.is_integer():
            raise BadValue(f"{text!r} is not a whole number (a count)")
        return int(round(value))
    return value


def parse_duration_seconds(text: str) -> int | None:
    """``H:MM:SS`` or ``M:SS`` (Studio's average view duration), or plain seconds, as seconds."""
    if is_missing(text):
        return None
    parts = text.strip().split(":")
    if not all(p.isdigit() for p in parts) or len(parts) > 3:
        raise BadValue(f"{text!r} is not a duration (H:MM:SS or seconds)")
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return seconds


# --- dates ----------------------------------------------------------------------------------------

_MONTH_NAMES = {
    1: "january jan enero ene janeiro janvier janv januar jän gennaio gen января январь янв",
    2: "february feb febrero fevereiro fev février févr februar febbraio февраля февраль фев",
    3: "march mar marzo março mars märz марта март мар",
    4: "april apr abril abr avril aprile апреля апрель апр",
    5: "may mayo maio mai maggio мая май",
    6: "june jun junio junho juin juni giugno giu июня июнь",
    7: "july jul julio julho juillet juil juli luglio lug июля июль",
    8: "august aug agosto ago août aout августа август авг",
    9: "september sep sept septiembre setiembre setembro set septembre settembre сентября сентябрь сен",
    10: "october oct octubre outubro out octobre oktober okt ottobre ott октября октябрь окт",
    11: "november nov noviembre novembro novembre нояб ноября ноябрь",
    12: "december dec diciembre dic dezembro dez décembre déc dezember dicembre декабря декабрь дек",
}
MONTHS = {name: month for month, names in _MONTH_NAMES.items() for name in names.split()}
"""Month names and abbreviations, lower-cased: English, Spanish, Portuguese, French, German, Italian
and Russian (genitive as in "18 января", and nominative)."""
_VIETNAMESE_MONTHS = {"một": 1, "giêng": 1, "hai": 2, "ba": 3, "tư": 4, "bốn": 4, "năm": 5, "sáu": 6, "bảy": 7,
                      "tám": 8, "chín": 9, "mười": 10, "mười một": 11, "mười hai": 12, "chạp": 12}
_CJK = re.compile(r"(?:(\d{4})\s*[年년]\s*)?(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]?")
_VIETNAMESE = re.compile(r"(\d{1,2})\s+tháng\s+(\d{1,2}|mười hai|mười một|[^\s,\d]+)(?:[\s,]+(?:năm\s+)?(\d{4}))?",
                         re.IGNORECASE)
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?")
_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?")
_WORD = re.compile(r"[^\W\d_]+\.?|\d+")


@dataclass(frozen=True)
class DayMonth:
    """A date as a cell wrote it: its month and day, and its year when the cell had one."""

    month: int
    day: int
    year: int | None = None

    def on(self, year: int) -> date:
        return date(year, self.month, self.day)


def parse_day_month(text: str) -> DayMonth | None:
    """The month, day and (if written) year of a date cell in any of the forms the exports use:
    ``2026-04-07``, ``Apr 29, 2020``, ``August 31``, ``18 января``, ``31 de agosto``, ``31. August``,
    ``9月13日``, ``18 tháng Tám``. None for a missing marker; :class:`BadValue` when it is no date."""
    if is_missing(text):
        return None
    value = text.strip()
    if m := _ISO.fullmatch(value):
        return _checked(int(m[2]), int(m[3]), int(m[1]), text)
    if m := _CJK.fullmatch(value):
        return _checked(int(m[2]), int(m[3]), int(m[1]) if m[1] else None, text)
    if m := _VIETNAMESE.fullmatch(value):
        word = m[2].lower()
        month = int(word) if word.isdigit() else _VIETNAMESE_MONTHS.get(word)
        if month is None:
            raise BadValue(f"{text!r}: {m[2]!r} is no Vietnamese month")
        return _checked(month, int(m[1]), int(m[3]) if m[3] else None, text)
    month = day = year = None
    for token in _WORD.findall(value.lower()):
        token = token.rstrip(".")
        if token.isdigit():
            if len(token) == 4 and year is None:
                year = int(token)
            elif len(token) <= 2 and day is None:
                day = int(token)
            else:
                raise BadValue(f"{text!r} is not a date (the number {token} is no day or year)")
        elif token in MONTHS and month is None:
            month = MONTHS[token]
        elif token not in ("de", "del", "of", "le", "der"):
            raise BadValue(f"{text!r} is not a date ({token!r} is no month name Pulse knows)")
    if month is None or day is None:
        raise BadValue(f"{text!r} is not a date (no month and day)")
    return _checked(month, day, year, text)


def _checked(month: int, day: int, year: int | None, text: str) -> DayMonth:
    try:
        date(year or 2000, month, day)  # 2000 is a leap year: 29 February stays possible
    except ValueError as exc:
        raise BadValue(f"{text!r} is not a date: {exc}") from exc
    return DayMonth(month, day, year)


def parse_slashed_date(text: str, day_first: bool) -> date | None:
    """``09/24/2026 15:30`` (Meta's publish time) as a date; ``day_first`` for files written
    ``24/09/2026``."""
    if is_missing(text):
        return None
    m = _SLASHED.fullmatch(text.strip())
    if m is None:
        raise BadValue(f"{text!r} is not a date like 09/24/2026 15:30")
    first, second, year = int(m[1]), int(m[2]), int(m[3])
    month, day = (second, first) if day_first else (first, second)
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise BadValue(f"{text!r} is not a date: {exc}") from exc


def slashed_first_number(text: str) -> int | None:
    """The first number of a slashed date (more than 12 proves the file writes the day first)."""
    m = _SLASHED.fullmatch(text.strip())
    return int(m[1]) if m else None


def latest_on_or_before(day_month: DayMonth, as_of: date) -> date:
    """The date of a cell without a year: the latest date with its month and day on or before
    ``as_of`` (the day the export was downloaded). A TikTok export covers at most the 365 days before
    its download, so every month and day in it falls on exactly one such date. 29 February goes back
    to the latest leap year."""
    year = as_of.year
    for _ in range(8):
        try:
            candidate = day_month.on(year)
        except ValueError:  # 29 February in a common year
            year -= 1
            continue
        if candidate <= as_of:
            return candidate
        year -= 1
    raise BadValue(f"no date {day_month.month:02d}-{day_month.day:02d} before {as_of}")


def nearest_to(day_month: DayMonth, anchor: date) -> date:
    """The date with this month and day closest to ``anchor`` (within half a year of it)."""
    candidates = []
    for year in (anchor.year - 1, anchor.year, anchor.year + 1):
        try:
            candidates.append(day_month.on(year))
        except ValueError:
            continue
    return min(candidates, key=lambda d: abs((d - anchor).days))


def tiktok_posted_at(video_id: str) -> datetime | None:
    """When a TikTok video was posted, from its id: its top 32 bits are the Unix time of posting
    (TikTok's ids are time-ordered; e.g. 7593820674163100946 → 2026-01-10 19:42:35 UTC). None when
    the id is not a TikTok video id."""
    if not video_id.isdigit() or len(video_id) < 15:
        return None
    seconds = int(video_id) >> 32
    posted = datetime.fromtimestamp(seconds, UTC)
    return posted if posted.year >= 2016 else None
