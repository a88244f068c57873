"""The cluster file: a valid file, a clear error for every bad field, host files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyxos.runtime.config import (
    ConfigError,
    HostPort,
    cluster_toml,
    load_config,
    parse_host_port,
    parse_hosts,
    parse_toml,
    zone_node_ids,
)

VALID = """
cluster = "prod"
data_dir = "/var/lib/pyxos"

[[nodes]]
id = 2
peer = "10.0.0.2:7000"
http = "0.0.0.0:8000"

[[nodes]]
id = 1
peer = "10.0.0.1:7000"
http = "0.0.0.0:8001"
data_dir = "/mnt/one"

[[nodes]]
id = 3
peer = "[::1]:7003"
http = "[::1]:8003"

[timers]
tick_ms = 5
election_timeout_ticks_min = 40

[limits]
request_timeout_ms = 2500
"""

NODE = '[[nodes]]\nid = 1\npeer = "h:1"\nhttp = "h:2"\n'


def test_a_valid_file() -> None:
    config = parse_toml(VALID, source="c.toml", base_dir=Path("/etc/pyxos"))
    assert config.cluster == "prod"
    assert config.members == (1, 2, 3)  # sorted by id
    one = config.node(1)
    assert one.peer == HostPort(host="10.0.0.1", port=7000)
    assert one.data_dir == Path("/mnt/one")
    assert config.node(2).data_dir == Path("/var/lib/pyxos/node-2")
    three = config.node(3)
    assert three.peer == HostPort(host="::1", port=7003)
    assert str(three.peer) == "[::1]:7003"
    replica = config.replica_config(2)
    assert replica.node_id == 2
    assert replica.members == (1, 2, 3)
    assert replica.tick_ms == 5
    assert replica.election_timeout_ticks_min == 40
    assert replica.heartbeat_ticks == 5  # a default
    assert config.limits.request_timeout_ms == 2500
    assert config.limits.inbox_max > 0  # a default


def test_defaults_for_everything_optional() -> None:
    config = parse_toml(f'cluster = "c"\n{NODE}', base_dir=Path("/x"))
    assert config.node(1).data_dir == Path("/x/data/node-1")
    assert config.replica_config(1).tick_ms == 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (NODE, "missing required field `cluster`"),
        (f"cluster = 1\n{NODE}", "cluster: Expected `str`, got `int`"),
        (f'cluster = ""\n{NODE}', "cluster: must be a non-empty cluster id"),
        ('cluster = "c"\nnodes = []', "nodes: at least one"),
        (
            'cluster = "c"\n[[nodes]]\nid = "one"\npeer = "h:1"\nhttp = "h:2"',
            "nodes[0].id: 'one' is neither a positive integer nor a zone.node id",
        ),
        (
            'cluster = "c"\n[[nodes]]\nid = 0\npeer = "h:1"\nhttp = "h:2"',
            "nodes[0].id: must be a positive",
        ),
        (f'cluster = "c"\n{NODE}{NODE}', "nodes[1].id: duplicate node id 1"),
        (
            'cluster = "c"\n[[nodes]]\nid = 1\nhttp = "h:2"',
            "nodes[0]: Object missing required field `peer`",
        ),
        (
            'cluster = "c"\n[[nodes]]\nid = 1\npeer = "h"\nhttp = "h:2"',
            "nodes[0].peer: 'h' is not host:port",
        ),
        (
            'cluster = "c"\n[[nodes]]\nid = 1\npeer = "h:0"\nhttp = "h:2"',
            "nodes[0].peer: 'h:0': port must be",
        ),
        (
            'cluster = "c"\n[[nodes]]\nid = 1\npeer = "h:x"\nhttp = "h:2"',
            "nodes[0].peer: 'h:x': port must be",
        ),
        (
            'cluster = "c"\n[[nodes]]\nid = 1\npeer = ":7"\nhttp = "h:2"',
            "nodes[0].peer: ':7': missing host",
        ),
        (
            'cluster = "c"\n[[nodes]]\nid = 1\npeer = "::1:7"\nhttp = "h:2"',
            "nodes[0].peer: '::1:7': write an IPv6",
        ),
        ('cluster = "c"\n[[nodes]]\nid = 1\npeer = "[zz]:7"\nhttp = "h:2"', "not an IPv6 address"),
        (
            'cluster = "c"\n[[nodes]]\nid = 1\npeer = "h:1"\nhttp = "h:1"',
            "nodes[0].http: h:1 is also nodes[0].peer",
        ),
        (
            'cluster = "c"\n[[nodes]]\nid = 1\npeer = "h:1"\nhttp = "h:2"\nport = 3',
            "nodes[0]: Object contains unknown field `port`",
        ),
        (
            f'cluster = "c"\n{NODE}[timers]\ntick_msec = 3',
            "timers: Object contains unknown field `tick_msec`",
        ),
        (f'cluster = "c"\n{NODE}[timers]\ntick_ms = 0', "timers: tick_ms must be positive"),
        (
            f'cluster = "c"\n{NODE}[timers]\nheartbeat_ticks = 50',
            "timers: heartbeat_ticks must be at most half",
        ),
        (
            f'cluster = "c"\n{NODE}[timers]\ntick_ms = "fast"',
            "timers.tick_ms: Expected `int | null`, got `str`",
        ),
        (f'cluster = "c"\n{NODE}[limits]\ninbox_max = -1', "limits: inbox_max must be positive"),
        (
            f'cluster = "c"\n{NODE}[limits]\nreconnect_ms_max = 1',
            "limits: reconnect_ms_max < reconnect_ms_min",
        ),
        ('cluster = "c"\nnodes = [', "not valid TOML"),
    ],
)
def test_every_bad_field_has_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_toml(text, source="cluster.toml")
    assert str(info.value).startswith("cluster.toml: ")
    assert message in str(info.value)


def test_an_unknown_node_id_is_an_error() -> None:
    config = parse_toml(f'cluster = "c"\n{NODE}', source="f.toml")
    with pytest.raises(ConfigError, match=r"f.toml: no node with id 9 \(members: 1\)"):
        config.node(9)


def test_host_file() -> None:
    text = "# three nodes\n10.0.0.1\n\n10.0.0.2:7100   # a comment\n[fe80::1]:7200\n"
    config = parse_hosts(text, source="hosts", base_dir=Path("/d"), cluster="lab")
    assert config.cluster == "lab"
    assert config.members == (1, 2, 3)
    assert config.node(1).peer == HostPort(host="10.0.0.1", port=7000)
    assert config.node(1).http == HostPort(host="10.0.0.1", port=8000)
    assert config.node(2).peer == HostPort(host="10.0.0.2", port=7100)
    assert config.node(2).http == HostPort(host="10.0.0.2", port=8100)
    assert config.node(3).peer == HostPort(host="fe80::1", port=7200)
    assert config.node(1).client == HostPort(host="10.0.0.1", port=9000)
    assert config.node(2).client == HostPort(host="10.0.0.2", port=9100)
    assert not config.fault_injection
    assert config.node(3).data_dir == Path("/d/data/node-3")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "nodes: at least one"),
        ("a\nb:notaport\n", "hosts: line 2: 'b:notaport': port must be"),
        ("a:65000\n", "line 1: peer port 65000 leaves no HTTP and client ports"),
        ("a:64000\n", "line 1: peer port 64000 leaves no HTTP and client ports"),
        ("a\na\n", "nodes[1].peer: a:7000 is also nodes[0].peer"),
    ],
)
def test_bad_host_files(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_hosts(text, source="hosts")
    assert message in str(info.value)


def test_load_config_picks_the_format_by_name(tmp_path: Path) -> None:
    toml = tmp_path / "cluster.toml"
    nodes = [
        (k, HostPort(host="127.0.0.1", port=7000 + k), HostPort(host="127.0.0.1", port=8000 + k))
        for k in (1, 2, 3)
    ]
    toml.write_text(
        cluster_toml(cluster='we"ird', nodes=nodes, data_dir=".", timers={"tick_ms": 7})
    )
    config = load_config(toml)
    assert config.cluster == 'we"ird'
    assert config.members == (1, 2, 3)
    assert config.node(2).http.port == 8002
    assert config.node(2).data_dir == tmp_path / "node-2"
    assert config.replica_config(1).tick_ms == 7
    hosts = tmp_path / "hosts.txt"
    hosts.write_text("127.0.0.1:7001\n127.0.0.1:7002\n")
    assert load_config(hosts).members == (1, 2)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the cluster file"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize("text", ["", "host:1:2", "[::1", "[::1]x"])
def test_parse_host_port_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_host_port(text)


def test_parse_host_port_default_port() -> None:
    assert parse_host_port("h", default_port=5) == HostPort(host="h", port=5)
    assert parse_host_port("[::1]", default_port=5) == HostPort(host="::1", port=5)


def test_the_client_address_defaults_to_the_http_port_plus_1000() -> None:
    config = parse_toml(VALID)
    assert config.node(1).client == HostPort(host="0.0.0.0", port=9001)
    assert config.node(3).client == HostPort(host="::1", port=9003)
    explicit = parse_toml(f'cluster = "c"\n{NODE}client = "[::1]:5"\n')
    assert explicit.node(1).client == HostPort(host="::1", port=5)
    assert not config.fault_injection


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ('[[nodes]]\nid = 1\npeer = "h:1"\nhttp = "h:2"\nclient = "h:1"', "h:1 is also"),
        ('[[nodes]]\nid = 1\npeer = "h:1"\nhttp = "h:2"\nclient = "h"', "'h' is not host:port"),
        (
            '[[nodes]]\nid = 1\npeer = "h:1002"\nhttp = "h:2"',
            "nodes[0].client: h:1002 (the default: the HTTP port + 1000) is also nodes[0].peer",
        ),
        (
            '[[nodes]]\nid = 1\npeer = "h:1"\nhttp = "h:65000"',
            "nodes[0].client: no default client address: HTTP port 65000 + 1000 is over 65535",
        ),
    ],
)
def test_bad_client_addresses(nodes: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_toml(f'cluster = "c"\n{nodes}', source="cluster.toml")
    assert message in str(info.value)


def test_fault_injection_is_off_unless_the_file_says_so(tmp_path: Path) -> None:
    on = parse_toml(f'cluster = "c"\nfault_injection = true\n{NODE}')
    assert on.fault_injection
    with pytest.raises(ConfigError, match="fault_injection: Expected `bool`"):
        parse_toml(f'cluster = "c"\nfault_injection = "yes"\n{NODE}')
    path = tmp_path / "cluster.toml"
    peer, http, client = (HostPort(host="127.0.0.1", port=p) for p in (7001, 8001, 9101))
    path.write_text(
        cluster_toml(cluster="c", nodes=[(1, peer, http, client)], fault_injection=True)
    )
    config = load_config(path)
    assert config.fault_injection
    assert config.node(1).client == client
    path.write_text(cluster_toml(cluster="c", nodes=[(1, peer, http)]))
    config = load_config(path)
    assert not config.fault_injection
    assert config.node(1).client == HostPort(host="127.0.0.1", port=9001)


ZONED = """
cluster = "wan"
[[nodes]]
id = "1.1"
peer = "h:7001"
http = "h:8001"
[[nodes]]
id = "1.2"
peer = "h:7002"
http = "h:8002"
[[nodes]]
id = "2.1"
peer = "h:7003"
http = "h:8003"
"""


def test_paxi_zone_node_ids_name_the_nodes_and_their_zones() -> None:
    config = parse_toml(ZONED, source="wan.toml")
    assert config.zoned
    assert config.members == (1001, 1002, 2001)
    assert config.zones == {1: (1001, 1002), 2: (2001,)}
    assert config.resolve("2.1") == 2001
    assert config.name(2001) == "2.1"
    assert config.node(1002).data_dir.name == "node-1.2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1.0", "node from 1 to 999"),
        ("0.1", "zone must be 1 or more"),
        ("a.b", "neither a positive integer nor a zone.node id"),
        ("3.1", "no node with id 3.1 (members: 1.1, 1.2, 2.1)"),
        ("2", "this cluster uses zone.node ids"),
    ],
)
def test_bad_zone_node_ids_are_named(text: str, message: str) -> None:
    config = parse_toml(ZONED, source="wan.toml")
    with pytest.raises(ConfigError) as info:
        config.resolve(text)
    assert message in str(info.value)


def test_a_cluster_file_uses_one_kind_of_node_id() -> None:
    mixed = ZONED.replace('id = "2.1"', "id = 3")
    with pytest.raises(ConfigError, match=r"nodes\[2\].id: 3: use zone.node ids"):
        parse_toml(mixed, source="wan.toml")
    plain = parse_toml(f'cluster = "c"\n{NODE}')
    with pytest.raises(ConfigError, match="plain integer ids"):
        plain.resolve("1.1")


# ---- the protocol and the quorum system ------------------------------------------------------
FIVE = "".join(
    f'[[nodes]]\nid = {n}\npeer = "h:{7000 + n}"\nhttp = "h:{8000 + n}"\n' for n in range(1, 6)
)
SIX_IN_ZONES = "".join(
    f'[[nodes]]\nid = "{z}.{n}"\npeer = "h:{7000 + 10 * z + n}"\nhttp = "h:{8000 + 10 * z + n}"\n'
    for z in (1, 2, 3)
    for n in (1, 2)
)


def test_the_protocol_and_quorums_default_to_multipaxos_and_majorities() -> None:
    config = parse_toml(f'cluster = "c"\n{FIVE}')
    assert config.protocol == "multipaxos"
    replica = config.replica_config(1)
    assert replica.quorums.is_q2((1, 2, 3)) and not replica.quorums.is_q2((1, 2))
    assert not replica.thrifty


def test_flexible_quorums_from_the_cluster_file() -> None:
    text = f'cluster = "c"\nprotocol = "multipaxos"\n{FIVE}[quorums]\nkind = "flexible"\n'
    config = parse_toml(text + "q1 = 4\nq2 = 2\nthrifty = true\n")
    replica = config.replica_config(3)
    assert replica.quorums.is_q2((1, 5)) and not replica.quorums.is_q1((1, 2, 3))
    assert replica.quorums.is_q1((1, 2, 3, 4))
    assert replica.thrifty


def test_grid_quorums_over_zone_node_ids() -> None:
    config = parse_toml(f'cluster = "c"\n{SIX_IN_ZONES}[quorums]\nkind = "grid"\nfz = 1\nfn = 0\n')
    quorums = config.replica_config(1001).quorums
    assert quorums.is_q1((1001, 2001))  # one node in each of two zones
    assert quorums.is_q2((1001, 1002, 2001, 2002))  # two whole zones
    assert not quorums.is_q2((1001, 1002, 2001))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f'cluster = "c"\n{FIVE}[quorums]\nkind = "flexible"\nq1 = 2\nq2 = 3\n',
            "quorums: phase-1 quorums of 2 and phase-2 quorums of 3 can be disjoint among 5",
        ),
        (f'cluster = "c"\n{FIVE}[quorums]\nkind = "flexible"\nq1 = 4\n', "need both q1 and q2"),
        (f'cluster = "c"\n{FIVE}[quorums]\nkind = "ring"\n', "unknown quorum kind 'ring'"),
        (f'cluster = "c"\n{FIVE}[quorums]\nkind = "majority"\nq1 = 3\n', "take no q1"),
        (f'cluster = "c"\n{FIVE}[quorums]\nkind = "grid"\n', "need the members in zones"),
        (f'cluster = "c"\n{SIX_IN_ZONES}[quorums]\nkind = "grid"\nfz = 3\n', "fz=3 must be"),
        (f'cluster = "c"\nprotocol = "raft"\n{FIVE}', "protocol: unknown protocol 'raft'"),
    ],
)
def test_a_bad_protocol_or_quorum_system_is_named(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_toml(text, source="cluster.toml")


WPAXOS = 'cluster = "c"\nprotocol = "wpaxos"\n' + NODE


def test_options_reach_the_replica_and_are_written_back() -> None:
    config = parse_toml(WPAXOS + '[options]\npolicy = "consecutive:2"\n', source="c.toml")
    assert config.options == (("policy", "consecutive:2"),)
    assert config.replica_config(1).option("policy", "majority") == "consecutive:2"
    text = cluster_toml(
        cluster="c",
        nodes=[(1, HostPort(host="h", port=1), HostPort(host="h", port=2))],
        protocol="wpaxos",
        options=config.options,
    )
    assert parse_toml(text).options == config.options


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('policy = "sometimes"', "c.toml: options.policy: unknown migration policy 'sometimes'"),
        (
            'speed = "1"',
            "c.toml: options.speed: wpaxos has no option 'speed' (its options: policy)",
        ),
    ],
)
def test_a_bad_option_names_the_file_the_option_and_the_choices(table: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_toml(WPAXOS + f"[options]\n{table}\n", source="c.toml")
    assert str(caught.value).startswith(message)
    if "policy" in table:
        assert "immediate, consecutive[:N], majority[:TICKS] or ema[:PERCENT]" in str(caught.value)


def test_an_option_of_another_protocol_is_refused() -> None:
    with pytest.raises(ConfigError, match="multipaxos has no option 'policy'"):
        parse_toml('cluster = "c"\n' + NODE + '[options]\npolicy = "immediate"\n', source="c")


def test_zoned_ids_are_written_as_zone_node() -> None:
    text = cluster_toml(
        cluster="c",
        nodes=[
            (node_id, HostPort(host="h", port=100 + i), HostPort(host="h", port=200 + i))
            for i, node_id in enumerate(zone_node_ids(4, 2))
        ],
        zoned=True,
    )
    config = parse_toml(text)
    assert config.zoned and [config.name(m) for m in config.members] == [
        "1.1",
        "1.2",
        "2.1",
        "2.2",
    ]
    with pytest.raises(ValueError, match="2 nodes cannot fill 3 zones"):
        zone_node_ids(2, 3)
