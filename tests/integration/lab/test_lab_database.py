"""The lab's app database answers psql, pg_dump and pg_restore over exec, and a dump/restore
round trip preserves every row (what upgrade rollback and `appliance restore` rely on)."""

from __future__ import annotations

import io

import pytest
from appliance_lab.testing import LabHandle

from appliance_cli.adapters.kube import KubeClient
from appliance_cli.errors import KubeError

DB = ("msp", "db-0", "db")
DUMP = ["pg_dump", "--username=postgres", "--format=custom", "server"]
RESTORE = ["pg_restore", "--username=postgres", "--dbname=server", "--clean", "--if-exists"]


def psql(kube: KubeClient, sql: str) -> tuple[str, str, int | None]:
    return kube.exec(*DB, ["psql", "-U", "postgres", "-d", "server", "-tAc", sql])


def seeded(kube: KubeClient) -> bool:
    try:
        return psql(kube, "select count(*) from users")[2] == 0
    except KubeError:
        return False


@pytest.mark.lab(speed=60)
def test_dump_restore_round_trip_brings_back_a_deleted_row(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects(tiers=("platform", "core"))
    kube = KubeClient.from_kubeconfig(lab.kubeconfig)
    lab.wait_for(lambda: seeded(kube), timeout=60, what="seeded users")
    assert psql(kube, "select count(*) from users") == ("7\n", "", 0)
    assert psql(kube, "create table notes (id text, body text)")[2] == 0
    assert psql(kube, "insert into notes (id, body) values ('1', 'it''s here')") == ("INSERT 0 1\n", "", 0)

    archive = io.BytesIO()
    size, err, code = kube.exec_stream(*DB, DUMP, sink=archive)
    assert (code, err) == (0, "")
    assert size == len(archive.getvalue()) > 0
    assert archive.getvalue().startswith(b"PGDMP")  # the custom format's magic

    assert psql(kube, "delete from notes where id = '1'") == ("DELETE 1\n", "", 0)
    assert psql(kube, "select body from notes") == ("", "", 0)

    archive.seek(0)
    _, err, code = kube.exec_stream(*DB, RESTORE, stdin=archive)
    assert (code, err) == (0, "")
    assert psql(kube, "select body from notes") == ("it's here\n", "", 0)
    assert psql(kube, "select count(*) from users") == ("7\n", "", 0)


@pytest.mark.lab(speed=60)
def test_restore_refuses_what_is_not_an_archive(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects(tiers=("platform", "core"))
    kube = KubeClient.from_kubeconfig(lab.kubeconfig)
    lab.wait_for(lambda: seeded(kube), timeout=60, what="seeded users")
    _, err, code = kube.exec_stream(*DB, RESTORE, stdin=io.BytesIO(b"not a dump"))
    assert code == 1
    assert "does not appear to be a valid archive" in err
    assert psql(kube, "select count(*) from users") == ("7\n", "", 0)
