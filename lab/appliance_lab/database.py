"""The app database ``server`` in ``msp/db-0``: a small stand-in for PostgreSQL, reached by exec.

It answers what the appliance CLI and the tests run in the ``db`` container:

- ``psql -U postgres -d server -tAc "<sql>"`` for a handful of statements: ``select count(*)
  from <table>``, ``select <columns|*> from <table> [where <column> = '<value>']``,
  ``insert into <table> (<columns>) values ('<v>', ...)``, ``delete from <table> where
  <column> = '<value>'``, ``create table [if not exists] <table> (...)`` and
  ``select pg_database_size('server')``; output as ``-tA`` prints it (values joined by ``|``,
  one row a line; command tags such as ``INSERT 0 1``);
- ``pg_dump ... --format=custom ... server``: the whole database as one archive on stdout;
- ``pg_restore ... --dbname=server [--clean] ...`` with the archive on stdin.

The ``users`` table appears once the app's bootstrap Job seeded it (the scenario's
``seedUsers`` rows) and disappears when the volume is wiped. The archive is honestly a lab
format: PostgreSQL's custom-format magic ``PGDMP`` followed by the tables as JSON, so the CLI
can check the header the way it checks a real archive, and a dump/restore round trip
verifiably preserves every row.
"""

from __future__ import annotations

import json
import re
import threading
from typing import TYPE_CHECKING

from appliance_lab.store import BY_KEY, Obj

if TYPE_CHECKING:
    from appliance_lab.controllers.base import Ctx

PODS = BY_KEY["v1/pods"]
JOBS = BY_KEY["batch/v1/jobs"]

DB_POD = ("msp", "db-0", "db")
ARCHIVE_MAGIC = b"PGDMP"
LAB_ARCHIVE_MARKER = b"\nappliance-lab-archive v1\n"
BASE_SIZE = 8 * 1024 * 1024  # an empty database's files (a made-up but plausible figure)
ROW_SIZE = 128

Row = dict[str, str]
ExecResult = tuple[bytes | str, str, int]

_IDENT = r"[a-z_][a-z0-9_]*"
_COUNT = re.compile(rf"^select\s+count\(\*\)\s+from\s+({_IDENT})\s*;?$")
_SIZE = re.compile(r"^select\s+pg_database_size\(\s*(?:'server'|current_database\(\))\s*\)\s*;?$")
_CREATE = re.compile(rf"^create\s+table\s+(if\s+not\s+exists\s+)?({_IDENT})\s*\((.*)\)\s*;?$", re.S)
_INSERT = re.compile(rf"^insert\s+into\s+({_IDENT})\s*\(([^)]*)\)\s*values\s*\((.*)\)\s*;?$", re.S)
_SELECT = re.compile(
    rf"^select\s+(\*|{_IDENT}(?:\s*,\s*{_IDENT})*)\s+from\s+({_IDENT})"
    rf"(?:\s+where\s+({_IDENT})\s*=\s*'((?:[^']|'')*)')?(?:\s+order\s+by\s+{_IDENT})?\s*;?$",
    re.S,
)
_DELETE = re.compile(rf"^delete\s+from\s+({_IDENT})\s+where\s+({_IDENT})\s*=\s*'((?:[^']|'')*)'\s*;?$", re.S)
_QUOTED = re.compile(r"'((?:[^']|'')*)'")

NOT_RUNNING = (
    'psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: '
    "No such file or directory\n\tIs the server running locally and accepting connections "
    "on that socket?\n"
)


class LabDatabase:
    """Tables of database ``server`` (name → rows), kept for the life of the lab process."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.tables: dict[str, list[Row]] = {}
        self._lock = threading.Lock()
        self.dumps = 0
        self.restores = 0

    # -- state shared with the controllers ------------------------------------------------
    def _sync_seed(self) -> None:
        """The bootstrap Job seeds ``users``; a wiped volume takes every table with it."""
        ctx = self.ctx
        if not ctx.seeded_users:
            jobs = ctx.store.list(JOBS, "msp")[0]
            if any(
                j["metadata"]["name"].startswith("alga-core-sebastian-bootstrap-") and is_true(j, "Complete")
                for j in jobs
            ):
                ctx.seeded_users = ctx.scenario.seed_users
        if not ctx.seeded_users:
            self.tables.clear()
            return
        if "users" not in self.tables:
            self.tables["users"] = [
                {"user_id": str(i), "email": f"user{i}@lab.invalid"} for i in range(1, ctx.seeded_users + 1)
            ]

    def _db_ready(self) -> bool:
        pod = self.ctx.store.try_get(PODS, DB_POD[0], DB_POD[1])
        return pod is not None and is_true(pod, "Ready")

    # -- exec ------------------------------------------------------------------------------
    def exec_handler(
        self, namespace: str, pod: str, container: str, command: list[str], stdin: bytes | None
    ) -> ExecResult | None:
        if (namespace, pod, container) != DB_POD or not command:
            return None
        program = command[0]
        if program not in ("psql", "pg_dump", "pg_restore"):
            return None
        if not self._db_ready():
            return ("", NOT_RUNNING.replace("psql:", f"{program}:"), 2 if program == "psql" else 1)
        with self._lock:
            self._sync_seed()
            if program == "psql":
                return self._psql(command)
            if program == "pg_dump":
                return self._dump(command)
            return self._restore(command, stdin or b"")

    def _psql(self, command: list[str]) -> ExecResult:
        sql = " ".join(command[command.index("-c") + 1 :]) if "-c" in command else command[-1]
        return self.query(sql)

    def query(self, sql: str) -> ExecResult:
        text = sql.strip()
        low = text.lower()
        if m := _SIZE.match(low):
            count = sum(len(r) for r in self.tables.values())
            return (f"{BASE_SIZE + ROW_SIZE * count}\n", "", 0)
        if m := _COUNT.match(low):
            table = m.group(1)
            if table not in self.tables:
                return ("", _missing(table, text), 1)
            return (f"{len(self.tables[table])}\n", "", 0)
        if m := _CREATE.match(text):
            table = m.group(2).lower()
            if table in self.tables:
                if m.group(1):
                    return ("", f'NOTICE:  relation "{table}" already exists, skipping\n', 0)
                return ("", f'ERROR:  relation "{table}" already exists\n', 1)
            self.tables[table] = []
            return ("CREATE TABLE\n", "", 0)
        if m := _INSERT.match(text):
            table = m.group(1).lower()
            if table not in self.tables:
                return ("", _missing(table, text), 1)
            columns = [c.strip().lower() for c in m.group(2).split(",")]
            values = [v.replace("''", "'") for v in _QUOTED.findall(m.group(3))]
            if len(columns) != len(values):
                return ("", "ERROR:  INSERT has more target columns than expressions\n", 1)
            self.tables[table].append(dict(zip(columns, values, strict=True)))
            return ("INSERT 0 1\n", "", 0)
        if m := _SELECT.match(text):
            cols, table, where_col, where_val = m.groups()
            table = table.lower()
            if table not in self.tables:
                return ("", _missing(table, text), 1)
            rows = self._where(table, where_col, where_val)
            names = None if cols == "*" else [c.strip().lower() for c in cols.split(",")]
            lines = ["|".join(r.get(c, "") for c in (names or list(r))) for r in rows]
            return ("".join(f"{line}\n" for line in lines), "", 0)
        if m := _DELETE.match(text):
            table, col, val = m.group(1).lower(), m.group(2), m.group(3)
            if table not in self.tables:
                return ("", _missing(table, text), 1)
            gone = self._where(table, col, val)
            self.tables[table] = [r for r in self.tables[table] if r not in gone]
            return (f"DELETE {len(gone)}\n", "", 0)
        return ("", f"ERROR:  the lab database does not understand: {text}\n", 1)

    def _where(self, table: str, column: str | None, value: str | None) -> list[Row]:
        rows = self.tables[table]
        if column is None:
            return list(rows)
        wanted = (value or "").replace("''", "'")
        return [r for r in rows if r.get(column.lower()) == wanted]

    def _dump(self, command: list[str]) -> ExecResult:
        if not ({"-Fc", "--format=custom", "--format=c"} & set(command)) or command[-1] != "server":
            return ("", "pg_dump: error: the lab database only writes custom-format dumps of server\n", 1)
        self.dumps += 1
        body = json.dumps({"database": "server", "tables": self.tables}, sort_keys=True).encode()
        return (ARCHIVE_MAGIC + LAB_ARCHIVE_MARKER + body, "", 0)

    def _restore(self, command: list[str], archive: bytes) -> ExecResult:
        if "--dbname=server" not in command and not ("-d" in command and "server" in command):
            return ("", "pg_restore: error: the lab database restores only into server\n", 1)
        if not archive.startswith(ARCHIVE_MAGIC + LAB_ARCHIVE_MARKER):
            return ("", "pg_restore: error: input file does not appear to be a valid archive\n", 1)
        try:
            data = json.loads(archive[len(ARCHIVE_MAGIC + LAB_ARCHIVE_MARKER) :])
            tables = {str(k): [dict(r) for r in v] for k, v in data["tables"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            return ("", "pg_restore: error: could not read the archive's table of contents\n", 1)
        if "--clean" in command or "-c" in command:
            self.tables = tables
        else:
            for name, rows in tables.items():
                self.tables.setdefault(name, []).extend(rows)
        self.restores += 1
        if "users" in self.tables:
            self.ctx.seeded_users = len(self.tables["users"])
        return ("", "", 0)


def is_true(obj: Obj, ctype: str) -> bool:
    conds = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == ctype and c.get("status") == "True" for c in conds)


def _missing(table: str, sql: str) -> str:
    return f'ERROR:  relation "{table}" does not exist\nLINE 1: {sql}\n'
