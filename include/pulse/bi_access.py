"""The read-only role BI tools log in as: ``pulse_bi`` reads schemas ``reporting`` and ``gold``, nothing else.

:func:`grants_sql` is SQL that the publish transaction and ``refresh_reporting`` run after a source's
reporting views (``pulse.tasks`` appends it to the source's reporting SQL). It creates the role when it
is missing and grants it ``SELECT`` on the source's gold tables and ``reporting.<source>_*`` views. Each
publish recreates those tables, so the grants are given again in the same transaction as the swap: a
BI reader never meets a new table it cannot read.

What the role is not given is what keeps it read-only and narrow: no ``INSERT``/``UPDATE``/``DELETE``
on anything, no ``CREATE`` on any schema (PostgreSQL 15+ gives ``PUBLIC`` none on ``public``), no
``USAGE`` on ``staging_<source>`` or ``pulse_meta`` and no ``SELECT`` on tables of ``public``. Its
sessions also start read-only (``default_transaction_read_only``), so even a temporary table is refused.

The role is created ``LOGIN`` without a password: give it one yourself (``ALTER ROLE pulse_bi PASSWORD
'…'``, see README "Power BI"). A warehouse user that may not create roles publishes all the same: the
grants are skipped with a notice until an administrator creates the role.
"""

from __future__ import annotations

from collections.abc import Iterable

BI_ROLE = "pulse_bi"
BI_SCHEMAS = ("gold", "reporting")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def grants_sql(gold_tables: Iterable[str], view_prefix: str, role: str = BI_ROLE) -> str:
    """SQL creating ``role`` if missing and letting it read ``gold.<table>`` for each of ``gold_tables``
    and every view ``reporting.<view_prefix>*``. Idempotent; safe to run in two publishes at once."""
    tables = ", ".join(f"gold.{_ident(t)}" for t in gold_tables)
    like = view_prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"
    schema_grants = "\n".join(
        f"    IF NOT has_schema_privilege({_literal(role)}, {_literal(s)}, 'USAGE') THEN\n"
        f"        GRANT USAGE ON SCHEMA {_ident(s)} TO {_ident(role)};\n"
        f"    END IF;"
        for s in BI_SCHEMAS
    )
    return f"""
-- The read-only BI role ({role}) and its grants on this source's gold tables and reporting views.
DO $pulse_bi$
DECLARE
    view_name text;
BEGIN
    -- Two publishes granting on the same schema at once would conflict: take turns.
    PERFORM pg_advisory_xact_lock(hashtext('pulse_bi grants'));
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {_literal(role)}) THEN
        BEGIN
            CREATE ROLE {_ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
            ALTER ROLE {_ident(role)} SET default_transaction_read_only = on;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE '% may not create roles, so the BI role % is missing and BI grants are skipped: '
                         'ask an administrator to run CREATE ROLE % LOGIN', current_user, {_literal(role)},
                         {_literal(role)};
            RETURN;
        END;
    END IF;
{schema_grants}
    GRANT SELECT ON {tables} TO {_ident(role)};
    -- Views in gold (a source's older table names) read like its tables.
    FOR view_name IN SELECT viewname FROM pg_views WHERE schemaname = 'gold'
    LOOP
        EXECUTE format('GRANT SELECT ON gold.%I TO %I', view_name, {_literal(role)});
    END LOOP;
    FOR view_name IN
        SELECT viewname FROM pg_views WHERE schemaname = 'reporting' AND viewname LIKE {_literal(like)}
    LOOP
        EXECUTE format('GRANT SELECT ON reporting.%I TO %I', view_name, {_literal(role)});
    END LOOP;
END
$pulse_bi$;
"""
