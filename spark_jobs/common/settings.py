"""A job's settings as one frozen dataclass: its defaults are the only definition of each value.

The Airflow side passes them to ``spark-submit`` as ``--name value`` (:meth:`JobSettings.job_args`) and
the job reads them back (:meth:`JobSettings.from_options`). This module imports no pyspark, so the DAG
files can import the settings without starting Spark.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Self, get_type_hints


@dataclass(frozen=True)
class JobSettings:
    @classmethod
    def flag(cls, field_name: str) -> str:
        return field_name.replace("_", "-")

    def options(self) -> dict[str, str]:
        """``{"--name": "value"}`` names without the dashes, as :func:`~spark_jobs.common.job.parse_args`
        takes them."""
        return {self.flag(f.name): str(getattr(self, f.name)) for f in fields(self)}

    def job_args(self) -> tuple[str, ...]:
        """The ``spark-submit`` application arguments that pass these settings."""
        return tuple(arg for name, value in self.options().items() for arg in (f"--{name}", value))

    @classmethod
    def from_options(cls, extra: dict[str, str]) -> Self:
        """The settings from the job's parsed options (strings), each converted to its field's type."""
        types = get_type_hints(cls)
        return cls(**{f.name: types[f.name](extra[cls.flag(f.name)]) for f in fields(cls)})
