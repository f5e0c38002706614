"""A source is configuration: its inputs, its Spark jobs and its gold tables.

The TaskGroup builders (:mod:`pulse.pipeline`) turn a :class:`Source` into a DAG of the one shape both
pipelines share; nothing in a source module builds tasks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulse.config import SQL_DIR
from pulse.inputs import Input


@dataclass(frozen=True)
class RowScope:
    """Some of a table's rows: ``condition``, SQL on its columns (``source = 'creator_api'``); ``name`` goes into
    the names of the checks that hold for these rows only."""

    name: str
    condition: str


@dataclass(frozen=True)
class ForeignKey:
    """``columns`` of a fact must find a row in ``table`` (by ``ref_columns``, default the same names); only the
    rows in ``scope`` when one is given."""

    columns: tuple[str, ...]
    table: str
    ref_columns: tuple[str, ...] = ()
    scope: RowScope | None = None

    @property
    def referenced(self) -> tuple[str, ...]:
        return self.ref_columns or self.columns


@dataclass(frozen=True)
class GoldTable:
    """A gold table and what the quality gate asserts about it."""

    name: str
    key: tuple[str, ...]
    not_null: tuple[str, ...] = ()
    bounds: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    references: tuple[ForeignKey, ...] = ()
    allow_empty: bool = False
    not_null_in: tuple[tuple[RowScope, tuple[str, ...]], ...] = ()
    """Columns with no nulls in some rows only: (scope, columns) pairs (a fact whose sources know different
    things)."""


@dataclass(frozen=True)
class Source:
    name: str
    dag_id: str
    title: str
    inputs: tuple[Input, ...]
    silver_job: str
    gold_job: str
    gold_tables: tuple[GoldTable, ...]
    default_lookback_days: int = 1
    gold_job_args: tuple[str, ...] = ()
    """The gold job's settings, as ``spark-submit`` arguments fixed when the DAG is parsed."""
    gold_runtime_args: tuple[str, ...] = ()
    """Gold job arguments Airflow renders when the task runs (templates, e.g. of an Airflow Variable a user
    changes in the UI), after ``gold_job_args``."""
    extra_params: Mapping[str, Any] = field(default_factory=dict)
    """Trigger-form params beyond the common ones (``pulse.pipeline.pipeline_params``), by name."""
    view_sql_files: tuple[str, ...] = ()
    """The SQL files (relative to ``include/sql``, the DAGs' template search path) that create the source's
    views over its gold tables, in order: run in the publish transaction and by ``refresh_reporting``.
    Default: ``<source>/reporting_views.sql``."""

    def __post_init__(self) -> None:
        if not self.view_sql_files:
            object.__setattr__(self, "view_sql_files", (f"{self.name}/reporting_views.sql",))

    def reporting_sql(self) -> str:
        """The source's view SQL, every file in order."""
        return "\n".join((SQL_DIR / f).read_text() for f in self.view_sql_files)

    @property
    def connections(self) -> tuple[str, ...]:
        """The Airflow connections the source's inputs read (besides Spark's and the warehouse's)."""
        return tuple(dict.fromkeys(i.conn_id for i in self.inputs if getattr(i, "conn_id", None)))

    def input(self, name: str) -> Input:
        return next(i for i in self.inputs if i.name == name)

    def gold_table(self, name: str) -> GoldTable:
        return next(t for t in self.gold_tables if t.name == name)
