"""`pyxos kv`, `pyxos status` and `pyxos log dump` against a real cluster: output, one-line
errors and exit statuses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cli_cluster import ClientCluster, run_main, started_cluster

from pyxos.cli import kv_cmd, log_cmd, status_cmd


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientCluster]:
    with started_cluster(tmp_path_factory) as started:
        yield started


def test_kv_get_put_del_cas_list(
    cluster: ClientCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--config", str(cluster.config)]

    def kv(*argv: str, stdin: bytes = b"") -> tuple[int, str, str]:
        return run_main(capsys, kv_cmd.main, *argv, stdin=stdin)

    assert kv("put", "greeting", "hello world", *where) == (0, "OK\n", "")
    assert kv("get", "greeting", *where) == (0, "hello world\n", "")
    assert kv("get", "greeting", "--stale", "--endpoints", cluster.endpoints(2))[0] == 0
    assert kv("get", "nobody", *where) == (1, "", "pyxos kv get: key 'nobody' not found\n")
    assert kv("cas", "greeting", "x", "--expected", "nope", *where) == (
        1,
        "",
        "pyxos kv cas: 'greeting' is 'hello world', not 'nope': nothing written\n",
    )
    assert kv("cas", "greeting", "bye", "--expected", "hello world", *where) == (0, "OK\n", "")
    assert kv("cas", "fresh", "1", "--absent", *where) == (0, "OK\n", "")
    assert kv("cas", "fresh", "2", "--absent", *where)[0] == 1
    assert kv("put", "from-stdin", "-", *where, stdin=b"piped\n") == (0, "OK\n", "")
    assert kv("get", "from-stdin", *where) == (0, "piped\n\n", "")
    assert kv("list", *where)[1] == "fresh\t1\nfrom-stdin\tpiped\n\ngreeting\tbye\n"
    code, out, err = kv("list", "f", "--limit", "1", *where)
    assert (code, out) == (0, "fresh\t1\n")
    assert "more keys than --limit 1; the next page: --after fresh" in err
    code, out, err = kv("list", "f", "--limit", "1", "--after", "fresh", *where)
    assert (code, out, err) == (0, "from-stdin\tpiped\n\n", "")
    assert kv("del", "greeting", *where) == (0, "OK\n", "")
    assert kv("del", "greeting", *where) == (1, "", "pyxos kv del: key 'greeting' not found\n")
    # The default endpoint is node 1 of `pyxos up`; with --endpoints, one node is enough.
    assert kv("get", "fresh", "--endpoints", cluster.endpoints(3)) == (0, "1\n", "")


def test_kv_errors_are_one_line_with_an_exit_status(
    cluster: ClientCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    def kv(*argv: str) -> tuple[int, str, str]:
        return run_main(capsys, kv_cmd.main, *argv)

    code, out, err = kv("put", "k" * 1025, "v", "--endpoints", cluster.endpoints())
    assert (code, out) == (2, "")
    assert err == "pyxos kv put: error: key of 1025 bytes; the limit is 1024\n"
    code, _, err = kv("get", "k", "--endpoints", "127.0.0.1:1")
    assert code == 3
    assert err.startswith(
        "pyxos kv get: error: no node reachable: 127.0.0.1:1: Connection refused; "
        "is the cluster running?"
    )
    code, _, err = kv("get", "k", "--endpoints", "nohost")
    assert (code, err) == (2, "pyxos kv get: error: bad endpoint: 'nohost' is not host:port\n")
    code, _, err = kv("get", "k", "--config", "/no/such/cluster.toml")
    assert code == 2 and "cannot read the cluster file" in err
    code, _, err = kv("get", "k", "--timeout", "0", "--endpoints", cluster.endpoints())
    assert (code, err) == (2, "pyxos kv: error: --timeout must be positive\n")
    with pytest.raises(SystemExit) as info:  # argparse: a usage error
        kv("cas", "k", "v")
    assert info.value.code == 2
    assert "one of the arguments --expected --absent is required" in capsys.readouterr().err


def test_status_and_log_dump(cluster: ClientCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(
        capsys, kv_cmd.main, "put", "logged", "yes", "--config", str(cluster.config)
    )
    assert code == 0
    code, out, err = run_main(capsys, status_cmd.main, "--endpoints", cluster.endpoints(2))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == [
        "NODE",
        "ROLE",
        "LEADER",
        "VIEW",
        "BALLOT",
        "DECIDED",
        "APPLIED",
        "PEERS",
        "HTTP",
    ]
    rows = [line.split() for line in lines[1:]]
    assert [row[0] for row in rows] == ["1", "2", "3"]  # one node named every member
    leader = cluster.leader(cluster.ids)
    assert [row[1] for row in rows].count("leader") == 1
    assert rows[leader - 1][1] == "leader" and {row[2] for row in rows} == {str(leader)}

    code, out, err = run_main(
        capsys, log_cmd.main, "dump", "--node", str(leader), "--config", str(cluster.config)
    )
    assert (code, err) == (0, "")
    assert any(line.endswith(" put logged='yes'") for line in out.splitlines())
    assert all(line.split(" ", 1)[0].isdigit() for line in out.splitlines())
    code, _, err = run_main(
        capsys, log_cmd.main, "dump", "--node", "9", "--config", str(cluster.config)
    )
    assert (code, err) == (2, "pyxos log dump: error: no node 9 (members: 1, 2, 3)\n")
    code, _, err = run_main(capsys, status_cmd.main, "--endpoints", "127.0.0.1:1")
    assert code == 3 and "cannot find the cluster" in err


def test_status_shows_a_dead_node_as_down(
    tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    with started_cluster(tmp_path_factory) as cluster:
        cluster.kill(2)
        code, out, _ = run_main(capsys, status_cmd.main, "--config", str(cluster.config))
        assert code == 3
        row = next(line.split() for line in out.splitlines() if line.startswith("2 "))
        assert row[1] == "down"
