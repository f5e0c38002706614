"""Fault knobs for Pulse's API simulators: request-level faults and record-level noise.

Faults only ever *add* noise on top of a simulator's true data set, so a client that retries and
quarantines correctly ends with exactly the data of a fault-free run:

- Request-level faults (:class:`RequestFaults`) decide, per request, from a seeded draw, whether
  to answer 502, 503, a burst of 429 with ``Retry-After``, to answer slowly, or to cut a 200 body
  short. They never change what a page holds.
- Record-level noise (:func:`noisy_records`) adds extra records around the true ones: malformed
  copies, exact duplicates and stale (older) versions. Whether a record gets noise, and what noise,
  is a pure function of ``(seed, resource, record key)``: a retried page holds the same records.
- A changed type (``changed_types``) is not noise but an API change: every record of the resource
  carries the field as an object (``{"value": <the true value>}``), as an API version that nests a
  counter would send it. The data is no longer readable as declared; silver must quarantine it.

Nothing here knows a particular API: a simulator describes its records with a :class:`RecordShape`.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

_RATES = ("fail_rate", "rate_limit_rate", "slow_rate", "bad_page_rate", "malformed_rate", "duplicate_rate",
          "late_update_rate")


@dataclass(frozen=True)
class FaultConfig:
    """Which faults a simulator adds, and how often. All are off by default.

    Rates are fractions of requests (request-level) or of true records (record-level)."""

    fail_rate: float = 0.0
    """Requests answered 502."""
    rate_limit_rate: float = 0.0
    """Requests that start a burst of 429 answers carrying ``Retry-After``."""
    rate_limit_retry_after: int = 1
    """The ``Retry-After`` of a 429, in seconds."""
    rate_limit_burst: int = 2
    """Requests answered 429 per burst, the one that started it included (whoever sends them)."""
    slow_rate: float = 0.0
    """Requests answered only after ``slow_seconds``."""
    slow_seconds: float = 1.0
    bad_page_rate: float = 0.0
    """200 answers whose JSON body is cut short."""
    malformed_rate: float = 0.0
    """Extra copies of true records with a required field removed or a typed field made unreadable."""
    duplicate_rate: float = 0.0
    """Extra, exact copies of true records."""
    late_update_rate: float = 0.0
    """Extra, older versions of true records (earlier version timestamp), served before the current one."""
    broken_pages: frozenset[tuple[str, int]] = frozenset()
    """``(resource, page)`` pairs that always answer 502."""
    changed_types: frozenset[tuple[str, str]] = frozenset()
    """``(resource, field)`` pairs the API now sends as an object, ``{"value": <value>}``, in every record."""
    down: bool = False
    """Every request, health checks included, answers 503."""

    def __post_init__(self) -> None:
        for name in _RATES:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"FaultConfig.{name} must be a fraction between 0 and 1, not {value!r}")
        if self.rate_limit_burst < 1:
            raise ValueError(f"FaultConfig.rate_limit_burst must be 1 or more, not {self.rate_limit_burst!r}")
        if self.rate_limit_retry_after < 0 or self.slow_seconds < 0:
            raise ValueError("FaultConfig.rate_limit_retry_after and slow_seconds cannot be negative")
        pages = frozenset((str(resource), int(page)) for resource, page in self.broken_pages)
        object.__setattr__(self, "broken_pages", pages)
        object.__setattr__(self, "changed_types", frozenset((str(r), str(f)) for r, f in self.changed_types))

    @property
    def adds_record_noise(self) -> bool:
        return bool(self.malformed_rate or self.duplicate_rate or self.late_update_rate or self.changed_types)

    def describe(self) -> str:
        """The knobs that differ from the defaults, for a start-up log line ("none" when fault-free)."""
        default = FaultConfig()
        changed = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                   if getattr(self, f.name) != getattr(default, f.name)]
        return " ".join(changed) or "none"


def request_fault_mix(total: float, rate_limit_burst: int = 2, **others: Any) -> FaultConfig:
    """A :class:`FaultConfig` whose request faults, in equal shares (502s, 429s with ``Retry-After``, slow
    answers and truncated bodies), meet about ``total`` of all requests, plus the knobs ``others``.

    Each kind is drawn on its own, so each gets the share ``x`` with ``(1 - x) ** 4 == 1 - total``; a 429
    burst answers ``rate_limit_burst`` requests, so bursts start at ``x / rate_limit_burst``."""
    if not 0.0 <= total < 1.0:
        raise ValueError(f"request_fault_mix: total must be in [0, 1), not {total!r}")
    share = 1.0 - (1.0 - total) ** 0.25
    return FaultConfig(fail_rate=share, rate_limit_rate=share / rate_limit_burst, rate_limit_burst=rate_limit_burst,
                       slow_rate=share, bad_page_rate=share, **others)


# --- request-level faults ------------------------------------------------------------------------

@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request. ``status`` set: answer it (with ``retry_after`` for a 429) instead
    of the page. ``delay``: wait first. ``truncate``: cut a 200 body to this fraction of its length."""

    status: int | None = None
    retry_after: int | None = None
    delay: float = 0.0
    truncate: float | None = None
    notes: tuple[str, ...] = ()


NO_FAULT = FaultDecision()


class RequestFaults:
    """Seeded-random request-level faults. Thread-safe; one per running server.

    A request's draw depends on the seed, the request (method, path and sorted query) and how many
    times that same request was asked before: the same requests meet the same faults on every run,
    in whatever order concurrent clients send them, and a retry is a fresh draw. Only a rate-limit
    burst is shared: once started, it answers the next ``rate_limit_burst - 1`` requests, whoever
    sends them."""

    def __init__(self, config: FaultConfig, seed: int) -> None:
        self.config = config
        self.seed = seed
        self._asked: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._burst_left = 0

    def decide(self, target: tuple[str, int] | None, faults_apply: bool = True,
               request_key: str = "") -> FaultDecision:
        """The fault for one request. ``target`` is its ``(resource, page)`` (for ``broken_pages``);
        ``faults_apply`` is false for requests that only fail when the API is down (health checks);
        ``request_key`` names the request (e.g. ``GET /api/x?a=1&page=2``)."""
        c = self.config
        if c.down:
            return FaultDecision(status=503, notes=("503 (down)",))
        if not faults_apply:
            return NO_FAULT
        if target is not None and target in c.broken_pages:
            return FaultDecision(status=502, notes=(f"502 (broken page {target[0]} {target[1]})",))
        with self._lock:
            attempt = self._asked[request_key]
            self._asked[request_key] += 1
            digest = hashlib.blake2b(f"{self.seed}|request|{request_key}|{attempt}".encode(), digest_size=16)
            u_limit, u_fail, u_slow, u_bad = (v / 2**32 for v in struct.unpack("<4I", digest.digest()))
            in_burst = self._burst_left > 0
            if in_burst:
                self._burst_left -= 1
            elif u_limit < c.rate_limit_rate:
                self._burst_left = c.rate_limit_burst - 1
        delay = c.slow_seconds if u_slow < c.slow_rate else 0.0
        notes = (f"slow {delay:g}s (slow_rate)",) if delay else ()
        if in_burst or u_limit < c.rate_limit_rate:
            why = "rate limit burst" if in_burst else "rate_limit_rate, burst starts"
            return FaultDecision(status=429, retry_after=c.rate_limit_retry_after, delay=delay,
                                 notes=(*notes, f"429 ({why}, Retry-After {c.rate_limit_retry_after})"))
        if u_fail < c.fail_rate:
            return FaultDecision(status=502, delay=delay, notes=(*notes, "502 (fail_rate)"))
        if u_bad < c.bad_page_rate:
            # u_bad is below bad_page_rate: rescale it to a cut between 10% and 90% of the body
            cut = 0.1 + 0.8 * (u_bad / c.bad_page_rate)
            return FaultDecision(delay=delay, truncate=cut, notes=(*notes, "truncated body (bad_page_rate)"))
        return FaultDecision(delay=delay, notes=notes) if delay else NO_FAULT


# --- record-level noise --------------------------------------------------------------------------

class Noise(IntEnum):
    """What a served record is: a true record, or one of the extras noise adds."""

    TRUE = 0
    STALE = 1
    DUPLICATE = 2
    MALFORMED = 3


FIELD_KINDS = ("str", "int", "float", "bool", "date", "timestamp")

# Values no reader of the kind can take for one ("n/a", "", an object); never a plausible value.
_UNREADABLE: dict[str, tuple] = {
    "int": ("n/a", "", "unknown", "-"),
    "float": ("n/a", "", "unknown", "-"),
    "bool": ("n/a", "", "unknown", "maybe"),
    "date": ("n/a", "", "unknown", "not a date"),
    "timestamp": ("n/a", "", "unknown", "not a timestamp"),
}


@dataclass(frozen=True)
class RecordShape:
    """What record-level noise needs to know about one resource's records.

    ``fields`` maps every required field to its kind (one of :data:`FIELD_KINDS`). A malformed copy
    loses one of them, or has a non-``str`` one replaced by a value that cannot be read as its kind.
    ``version_field`` (a ``timestamp``) orders versions of a record; without it there are no late
    updates. ``stale(record, rng)`` returns an older version's values (the version field is set here).
    """

    name: str
    key: tuple[str, ...]
    fields: Mapping[str, str]
    version_field: str | None = None
    stale: Callable[[dict, random.Random], dict] | None = None
    stale_max_age: timedelta = timedelta(hours=6)
    _malformable: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = {k for k in self.fields.values() if k not in FIELD_KINDS}
        if unknown:
            raise ValueError(f"{self.name}: unknown field kinds {sorted(unknown)}; use {FIELD_KINDS}")
        if self.version_field is not None and self.fields.get(self.version_field) != "timestamp":
            raise ValueError(f"{self.name}: version field {self.version_field!r} must be a timestamp field")
        # the version field is the simulator's own addition: noise leaves it readable and present
        object.__setattr__(self, "_malformable", tuple(f for f in self.fields if f != self.version_field))


def _record_uniforms(seed: int, shape: RecordShape, record: Mapping) -> tuple[float, float, float, bytes]:
    key = "|".join(str(record[k]) for k in shape.key)
    digest = hashlib.blake2b(f"{seed}|noise|{shape.name}|{key}".encode(), digest_size=28).digest()
    a, b, c = struct.unpack_from("<3I", digest)
    return a / 2**32, b / 2**32, c / 2**32, digest[12:]


def malformed_copy(record: Mapping, shape: RecordShape, rng: random.Random) -> tuple[dict, str]:
    """A copy of ``record`` that no type check accepts, and what was done to it."""
    copy = dict(record)
    name = rng.choice(shape._malformable)
    kind = shape.fields[name]
    if kind == "str" or rng.random() < 0.5:
        del copy[name]
        return copy, f"{name} removed"
    options = (*_UNREADABLE[kind], {"value": record[name]})
    copy[name] = options[rng.randrange(len(options))]
    return copy, f"{name} = {copy[name]!r}"


def earlier_timestamp(value: str, by: timedelta) -> str:
    """``value`` (ISO-8601, ``Z`` for UTC allowed) moved back ``by``, in the same notation."""
    moved = datetime.fromisoformat(value) - by
    text = moved.isoformat(timespec="seconds" if moved.microsecond == 0 else "microseconds")
    return text.replace("+00:00", "Z") if value.endswith("Z") else text


def stale_copy(record: Mapping, shape: RecordShape, rng: random.Random) -> dict:
    """An older version of ``record``: the shape's stale values and an earlier version timestamp."""
    assert shape.stale is not None and shape.version_field is not None
    copy = shape.stale(dict(record), rng)
    max_minutes = max(2, int(shape.stale_max_age.total_seconds() // 60))
    copy[shape.version_field] = earlier_timestamp(record[shape.version_field],
                                                  timedelta(minutes=rng.randint(1, max_minutes)))
    return copy


def scaled(record: dict, names: Iterable[str], factor: float, digits: int = 2) -> dict:
    """``record`` with the numeric fields ``names`` multiplied by ``factor`` (ints stay ints, rounded
    down, so an order such as ``likes <= views`` survives; floats rounded to ``digits``)."""
    for name in names:
        value = record[name]
        record[name] = int(value * factor) if isinstance(value, int) else round(value * factor, digits)
    return record


def noisy_records(records: Iterable[dict], shape: RecordShape, config: FaultConfig, seed: int,
                  on_noise: Callable[[Noise, dict, str], None] | None = None) -> Iterator[tuple[Noise, dict]]:
    """The records with record-level noise added: ``(kind, record)`` pairs in serving order.

    Each true record comes as ``(Noise.TRUE, record)`` (the same object), preceded by its stale
    version and followed by its duplicate and malformed copy when those fire. ``on_noise(kind, record,
    detail)`` is told about each extra record (for the simulator's log)."""
    if not config.adds_record_noise:
        for record in records:
            yield Noise.TRUE, record
        return
    changed = sorted(f for resource, f in config.changed_types if resource == shape.name)
    if changed:
        for kind, record in noisy_records(records, shape, replace(config, changed_types=frozenset()), seed,
                                          on_noise):
            yield kind, {**record, **{f: {"value": record[f]} for f in changed if f in record}}
        return
    late_rate = config.late_update_rate if shape.stale is not None else 0.0
    for record in records:
        u_late, u_dup, u_bad, rest = _record_uniforms(seed, shape, record)
        if not (u_late < late_rate or u_dup < config.duplicate_rate or u_bad < config.malformed_rate):
            yield Noise.TRUE, record
            continue
        rng = random.Random(rest)
        if u_late < late_rate:
            stale = stale_copy(record, shape, rng)
            if on_noise:
                on_noise(Noise.STALE, stale, f"{shape.version_field} {stale[shape.version_field]}")
            yield Noise.STALE, stale
        yield Noise.TRUE, record
        if u_dup < config.duplicate_rate:
            if on_noise:
                on_noise(Noise.DUPLICATE, record, "exact copy")
            yield Noise.DUPLICATE, dict(record)
        if u_bad < config.malformed_rate:
            bad, detail = malformed_copy(record, shape, rng)
            if on_noise:
                on_noise(Noise.MALFORMED, bad, detail)
            yield Noise.MALFORMED, bad


# --- command line ---------------------------------------------------------------------------------


def add_fault_arguments(parser: argparse.ArgumentParser, resources: Iterable[str], records: str,
                        late_updates: bool = True) -> None:
    """The fault flags every simulator takes. ``resources`` are what ``--broken-page RESOURCE:PAGE`` may
    name; ``records`` says what the record-level faults copy (e.g. "true records")."""
    known = tuple(resources)

    def broken_page(text: str) -> tuple[str, int]:
        resource, _, page = text.rpartition(":")
        if resource not in known or not page.isdigit():
            raise argparse.ArgumentTypeError(f"expected RESOURCE:PAGE, RESOURCE one of {known}, not {text!r}")
        return resource, int(page)

    def changed_type(text: str) -> tuple[str, str]:
        resource, _, name = text.partition(":")
        if resource not in known or not name:
            raise argparse.ArgumentTypeError(f"expected RESOURCE:FIELD, RESOURCE one of {known}, not {text!r}")
        return resource, name

    faults = parser.add_argument_group("faults (all off by default)")
    faults.add_argument("--fail-rate", type=float, default=0.0, help="fraction of requests answered 502")
    faults.add_argument("--rate-limit-rate", type=float, default=0.0,
                        help="fraction of requests that start a burst of 429 answers")
    faults.add_argument("--retry-after", type=int, default=1, help="Retry-After of a 429, in seconds")
    faults.add_argument("--rate-limit-burst", type=int, default=2, help="429 answers per burst")
    faults.add_argument("--slow-rate", type=float, default=0.0, help="fraction of requests answered slowly")
    faults.add_argument("--slow-seconds", type=float, default=1.0)
    faults.add_argument("--bad-page-rate", type=float, default=0.0,
                        help="fraction of 200 answers whose JSON body is cut short")
    faults.add_argument("--malformed-rate", type=float, default=0.0,
                        help=f"extra malformed copies, as a fraction of {records}")
    faults.add_argument("--duplicate-rate", type=float, default=0.0,
                        help=f"extra exact copies, as a fraction of {records}")
    if late_updates:
        faults.add_argument("--late-update-rate", type=float, default=0.0,
                            help=f"extra older versions served first, as a fraction of {records}")
    faults.add_argument("--broken-page", type=broken_page, action="append", default=[],
                        metavar="RESOURCE:PAGE", help="a page that always answers 502 (repeatable)")
    faults.add_argument("--changed-type", type=changed_type, action="append", default=[],
                        metavar="RESOURCE:FIELD",
                        help='a field the API now sends as an object, {"value": …}, in every record (repeatable)')
    faults.add_argument("--down", action="store_true", help="answer every request 503")


def fault_config(args: argparse.Namespace) -> FaultConfig:
    """The :class:`FaultConfig` of the flags :func:`add_fault_arguments` added (raises ValueError)."""
    return FaultConfig(
        fail_rate=args.fail_rate, rate_limit_rate=args.rate_limit_rate, rate_limit_retry_after=args.retry_after,
        rate_limit_burst=args.rate_limit_burst, slow_rate=args.slow_rate, slow_seconds=args.slow_seconds,
        bad_page_rate=args.bad_page_rate, malformed_rate=args.malformed_rate, duplicate_rate=args.duplicate_rate,
        late_update_rate=getattr(args, "late_update_rate", 0.0), broken_pages=frozenset(args.broken_page),
        changed_types=frozenset(args.changed_type), down=args.down)


def parse_simulator_args(parser: argparse.ArgumentParser, argv: list[str] | None,
                         make_config: Callable[[argparse.Namespace, FaultConfig], Any]
                         ) -> tuple[argparse.Namespace, Any]:
    """Parse ``argv`` and make the simulator's config from the arguments and their faults
    (``make_config``); a combination the config refuses (its ValueError) is a usage error."""
    args = parser.parse_args(argv)
    try:
        return args, make_config(args, fault_config(args))
    except ValueError as exc:
        parser.error(str(exc))

