"""How a source declares its silver datasets (the schemas themselves are in each source's ``schemas.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import types as T

from spark_jobs.common.silver import PayloadSchema

# Short names for the types the schemas are written in.
S, L, I, D, B = T.StringType(), T.LongType(), T.IntegerType(), T.DoubleType(), T.BooleanType()  # noqa: E741
TS, DT = T.TimestampType(), T.DateType()


@dataclass(frozen=True)
class SilverDataset:
    """A silver dataset: its name, natural key and schema. A dataset read from raw JSON records also
    declares the ``payload`` that types them, and the columns that order its versions (the greatest
    version of a key is kept)."""

    name: str
    key: tuple[str, ...]
    schema: T.StructType
    payload: PayloadSchema | None = None
    version_order: tuple[str, ...] = ("updated_at", "run_date", "record_index")

    @property
    def columns(self) -> list[str]:
        return self.schema.fieldNames()


def fields(*pairs: tuple[str, T.DataType]) -> T.StructType:
    """A schema of nullable fields, from ``(name, type)`` pairs."""
    return T.StructType([T.StructField(name, dtype, nullable=True) for name, dtype in pairs])
