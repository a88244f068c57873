"""One error tree: the client, the embedded node and the runtime raise `pyxos.errors`' classes,
every old import path names the same class, and each class's `code` is the service's."""

from __future__ import annotations

import pytest

import pyxos
import pyxos.client
import pyxos.client.errors
import pyxos.embed
import pyxos.embed.errors
import pyxos.errors
from pyxos.runtime import requests
from pyxos.service.errors import ERRORS
from pyxos.wire.client import ERROR_CODES

COMMON = (
    "PyxosError",
    "BadRequest",
    "TooLarge",
    "Unavailable",
    "Timeout",
    "NoQuorum",
    "CasMismatch",
    "VersionConflict",
    "QueueEmpty",
    "UnsupportedByProtocol",
)


@pytest.mark.parametrize("name", COMMON)
def test_every_import_path_names_the_one_class(name: str) -> None:
    one = getattr(pyxos.errors, name)
    assert getattr(pyxos, name) is one
    assert getattr(pyxos.client, name) is one
    assert getattr(pyxos.client.errors, name) is one
    for module in (pyxos.embed, pyxos.embed.errors, requests):
        assert getattr(module, name, one) is one  # where the name exists, it is the same


def test_the_runtime_and_the_embedded_node_share_the_tree() -> None:
    assert requests.RequestTimeout is pyxos.Timeout
    assert requests.Unavailable is pyxos.Unavailable
    assert pyxos.embed.errors.RequestId is pyxos.RequestId
    assert pyxos.CommandFailed is pyxos.embed.CommandFailed
    assert pyxos.LockHeld is pyxos.client.errors.LockHeld
    assert issubclass(pyxos.NoQuorum, pyxos.Timeout)
    assert issubclass(pyxos.LockHeld, pyxos.PyxosError)
    assert issubclass(pyxos.BadRequest, ValueError)


def test_codes_are_the_services() -> None:
    classes = [getattr(pyxos.errors, name) for name in COMMON[1:]]
    classes += [
        pyxos.client.errors.LockHeld,
        pyxos.client.errors.HeldByYou,
        pyxos.client.errors.NotHolder,
        pyxos.client.errors.StaleToken,
    ]
    for kind in classes:
        assert kind.code in ERRORS, kind
    # And what the binary protocol can answer comes back as its class.
    for code in ERROR_CODES - {"internal"}:
        assert pyxos.errors.error_for(code, "m").code == code


def test_no_quorum_names_what_it_cannot_reach() -> None:
    error = pyxos.NoQuorum("no quorum", unreachable=[3, 2])
    assert error.unreachable == (2, 3)
    assert error.request_id is None
    assert pyxos.errors.unreachable_text(error.unreachable) == "nodes 2 and 3 are unreachable"
    assert pyxos.errors.unreachable_text([3]) == "node 3 is unreachable"
    assert pyxos.errors.name_nodes(["1.1", "2.1", "3.1"]) == "nodes 1.1, 2.1 and 3.1"


def test_waits_are_quoted_as_the_caller_set_them() -> None:
    assert pyxos.errors.seconds_text(5) == "5 s"
    assert pyxos.errors.seconds_text(1.35) == "1.35 s"  # never rounded up past a deadline
    assert pyxos.errors.seconds_text(0.2) == "0.2 s"
