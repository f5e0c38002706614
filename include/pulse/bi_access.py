"""The roles BI tools log in as: ``pulse_bi`` reads every listener, a per-listener login reads one.

- ``pulse_bi``, the analyst login: ``SELECT`` on schemas ``gold`` and ``reporting``, every row.
- Per-listener logins (``python -m pulse.bi_access add-user <login> --listener <name>``): members of the
  group role ``pulse_bi_listener``. They read the sources whose gold has per-listener tables (a
  ``listener`` column), and in those tables, through every view, only their listener's rows: row-level
  security, with policies keyed on ``pulse_meta.bi_listener_logins`` (login → listener).

:func:`grants_sql` is the SQL the publish transaction and ``refresh_reporting`` run after a source's
reporting views (``pulse.tasks`` appends it to the source's reporting SQL):
``include/sql/bi_access/roles.sql`` (the roles, their session defaults, no temporary objects for
``PUBLIC``) and ``grants.sql`` (the grants and policies on the source's new tables, in the same
transaction as the swap: a BI reader never meets a table it cannot read or one without its policies).

What the roles are not given keeps them read-only and narrow: no ``INSERT``/``UPDATE``/``DELETE``, no
``CREATE`` on any schema (PostgreSQL 15+ gives ``PUBLIC`` none on ``public``), no ``TEMPORARY`` on the
database (revoked from ``PUBLIC``; the publishing role keeps it), no access to ``staging_<source>``,
``pulse_meta`` or tables of ``public``. Their sessions start read-only and with the timeouts of
:data:`BI_SESSION_DEFAULTS`. The grants take turns on a lock of a ``pulse_meta`` table, which BI roles
cannot take.

The logins are created without a password: give them one yourself (``ALTER ROLE pulse_bi PASSWORD
'…'``). A warehouse user that may not create roles publishes all the same: the grants are skipped with a
notice until an administrator creates the roles.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from psycopg import Connection, sql

BI_ROLE = "pulse_bi"
LISTENER_GROUP = "pulse_bi_listener"
# Session defaults of every BI login (ALTER ROLE … SET). A session may change them for itself; they keep
# a forgotten query or an open transaction from holding gold's locks (and so a publish) for long.
BI_SESSION_DEFAULTS = {
    "default_transaction_read_only": "on",
    "statement_timeout": "10min",
    "idle_in_transaction_session_timeout": "1min",
}
SQL_DIR = Path(__file__).resolve().parents[1] / "sql" / "bi_access"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _parameters_sql(role: str, **more: str) -> str:
    """The SQL files' parameters, as settings local to the transaction."""
    values = {"role": role, "listener_group": LISTENER_GROUP,
              "role_settings": json.dumps(BI_SESSION_DEFAULTS), **more}
    settings = ", ".join(f"set_config({_literal('pulse_bi.' + k)}, {_literal(v)}, true)" for k, v in values.items())
    return f"SELECT {settings};\n"


def _sql_file(name: str) -> str:
    return (SQL_DIR / name).read_text(encoding="utf-8")


def _text_array(values: Iterable[str]) -> str:
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def grants_sql(gold_tables: Iterable[str], view_prefix: str, role: str = BI_ROLE) -> str:
    """SQL creating the BI roles if missing and letting them read ``gold.<table>`` for each of
    ``gold_tables``, the gold views over them and every view ``reporting.<view_prefix>*``, with
    row-level security on the tables that have a ``listener`` column. Idempotent; safe to run in two
    publishes at once."""
    parameters = _parameters_sql(role, gold_tables=_text_array(gold_tables), view_prefix=view_prefix)
    return parameters + _sql_file("roles.sql") + _sql_file("grants.sql")


def add_listener_login(conn: Connection, login: str, listeners: Sequence[str]) -> int:
    """Create (or re-map) ``login``, a BI login that reads only ``listeners``' rows; returns how many
    rows of ``gold.fact_track_breakdown`` those listeners have now (0 when not yet published)."""
    if not listeners:
        raise ValueError("name at least one listener")
    with conn.transaction():
        conn.execute(_parameters_sql(BI_ROLE) + _sql_file("roles.sql"))
        member = conn.execute(
            "SELECT r.oid IS NOT NULL, pg_has_role(r.oid, %s, 'MEMBER') FROM (SELECT NULL) AS one "
            "LEFT JOIN pg_roles r ON r.rolname = %s", (LISTENER_GROUP, login)).fetchone()
        exists, is_listener_login = member
        if exists and not is_listener_login:
            raise ValueError(f"the role {login!r} exists and is not a per-listener BI login (a member of "
                             f"{LISTENER_GROUP}): choose another name")
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                                 "IN ROLE {}").format(sql.Identifier(login), sql.Identifier(LISTENER_GROUP)))
            for name, value in BI_SESSION_DEFAULTS.items():
                conn.execute(sql.SQL("ALTER ROLE {} SET {} = {}").format(
                    sql.Identifier(login), sql.Identifier(name), sql.Literal(value)))
        conn.execute("DELETE FROM pulse_meta.bi_listener_logins WHERE login = %s", (login,))
        for listener in dict.fromkeys(listeners):
            conn.execute("INSERT INTO pulse_meta.bi_listener_logins (login, listener) VALUES (%s, %s)",
                         (login, listener))
    # Counted after the commit: reading gold while holding the grants' lock could deadlock with a publish.
    if conn.execute("SELECT to_regclass('gold.fact_track_breakdown') IS NULL").fetchone()[0]:
        return 0
    return conn.execute("SELECT count(*) FROM gold.fact_track_breakdown WHERE listener = ANY(%s)",
                        (list(listeners),)).fetchone()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pulse.bi_access",
                                     description="BI logins of the pulse_warehouse connection's database.")
    commands = parser.add_subparsers(dest="command", required=True)
    add_user = commands.add_parser("add-user", help="a login that reads only one listener's (or account's) rows")
    add_user.add_argument("login", help="the new login's role name")
    scope = add_user.add_mutually_exclusive_group(required=True)
    scope.add_argument("--listener", action="append", help="a listener it may read (repeat for more than one)")
    scope.add_argument("--account", help="a creator account it may read")
    args = parser.parse_args(argv)
    if args.account:
        print("--account: creator gold has no account yet, so there is nothing to isolate by account: creator "
              "accounts come with issue 11. Use --listener for a Spotify listener.", file=sys.stderr)
        return 2
    from pulse.tasks import warehouse_connection

    conn = warehouse_connection()
    try:
        rows = add_listener_login(conn, args.login, args.listener)
    except ValueError as error:
        print(f"add-user: {error}", file=sys.stderr)
        return 2
    finally:
        conn.close()
    who = ", ".join(args.listener)
    print(f"{args.login} reads only {who} in gold and reporting ({rows:,} rows of gold.fact_track_breakdown now).")
    if rows == 0:
        print(f"  No row of {who} is published yet: check the name (the listener's inbox folder).")
    print(f"  Give it a password: make psql, then ALTER ROLE \"{args.login}\" PASSWORD '…';")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
