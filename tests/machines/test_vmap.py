"""The versioned map: versions from 1, guarded updates and deletes, against a dict model."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule
from machine_model import CTX, MODEL_SETTINGS, MachineAgainstModel

from pyxos.machines.vmap import (
    ERROR_BAD_COMMAND,
    ERROR_NOT_A_QUERY,
    ERROR_NOT_FOUND,
    ERROR_VERSION_CONFLICT,
    MapDelete,
    MapGet,
    MapOp,
    MapPut,
    MapResult,
    MapUpdate,
    VersionedMap,
    decode_op,
    decode_result,
    encode_op,
    encode_result,
)


def _run(machine: VersionedMap, op: MapOp) -> MapResult:
    return decode_result(machine.apply(encode_op(op), CTX))


def test_every_write_bumps_the_version() -> None:
    machine = VersionedMap()
    assert _run(machine, MapPut(key="k", value=b"a")) == MapResult(key="k", value=b"a", version=1)
    assert _run(machine, MapPut(key="k", value=b"b")).version == 2
    assert _run(machine, MapUpdate(key="k", value=b"c", version=2)) == MapResult(
        key="k", value=b"c", version=3
    )
    assert _run(machine, MapGet(key="k")) == MapResult(key="k", value=b"c", version=3)


def test_an_update_at_an_old_version_conflicts_and_says_the_current_one() -> None:
    machine = VersionedMap()
    _run(machine, MapPut(key="k", value=b"a"))
    _run(machine, MapPut(key="k", value=b"b"))
    assert _run(machine, MapUpdate(key="k", value=b"x", version=1)) == MapResult(
        ok=False, error=ERROR_VERSION_CONFLICT, key="k", value=b"b", version=2
    )
    assert _run(machine, MapUpdate(key="new", value=b"x", version=0)).version == 1
    assert _run(machine, MapUpdate(key="absent", value=b"x", version=3)).error == (
        ERROR_VERSION_CONFLICT
    )


def test_deletes_are_guarded_when_a_version_is_given_and_reset_the_version() -> None:
    machine = VersionedMap()
    _run(machine, MapPut(key="k", value=b"a"))
    assert _run(machine, MapDelete(key="k", version=5)).error == ERROR_VERSION_CONFLICT
    assert _run(machine, MapDelete(key="k", version=1)) == MapResult(key="k", value=b"a", version=1)
    assert _run(machine, MapDelete(key="k", version=None)).error == ERROR_NOT_FOUND
    assert _run(machine, MapGet(key="k")) == MapResult(ok=False, error=ERROR_NOT_FOUND, key="k")
    assert _run(machine, MapPut(key="k", value=b"b")).version == 1


def test_get_is_the_only_query() -> None:
    machine = VersionedMap()
    _run(machine, MapPut(key="k", value=b"a"))
    assert decode_result(machine.query(encode_op(MapGet(key="k")))).version == 1
    put = encode_op(MapPut(key="k", value=b"b"))
    assert decode_result(machine.query(put)).error == ERROR_NOT_A_QUERY


@pytest.mark.parametrize("data", [b"", b"\xc1", b"\x92\xa4mput\x01"])
def test_bad_bytes_are_answered_not_raised(data: bytes) -> None:
    assert decode_result(VersionedMap().apply(data, CTX)).error == ERROR_BAD_COMMAND


def test_the_codecs_round_trip() -> None:
    op = MapDelete(key="k", version=None)
    assert decode_op(encode_op(op)) == op
    assert decode_result(encode_result(MapResult(key="k", version=4))).version == 4


def test_snapshots_are_equal_for_equal_states_and_bad_ones_are_refused() -> None:
    first, second = VersionedMap(), VersionedMap()
    for key in "ab":
        _run(first, MapPut(key=key, value=b"v"))
    for key in "ba":
        _run(second, MapPut(key=key, value=b"v"))
    assert first.snapshot() == second.snapshot()
    restored = VersionedMap()
    restored.restore(first.snapshot())
    assert _run(restored, MapGet(key="a")).version == 1
    with pytest.raises(ValueError):
        restored.restore(b"\xc1")


class MapAgainstDict(MachineAgainstModel[VersionedMap]):
    def __init__(self) -> None:
        super().__init__(
            VersionedMap,
            decode_op=decode_op,
            decode_result=decode_result,
            bad_command=ERROR_BAD_COMMAND,
        )
        self.model: dict[str, tuple[bytes, int]] = {}

    def _current(self, key: str) -> MapResult:
        if key not in self.model:
            return MapResult(key=key)
        value, version = self.model[key]
        return MapResult(key=key, value=value, version=version)

    @rule(key=st.sampled_from(["a", "b"]), value=st.binary(max_size=2))
    def put(self, key: str, value: bytes) -> None:
        version = self.model.get(key, (b"", 0))[1] + 1
        self.model[key] = (value, version)
        assert _run(self.machine, MapPut(key=key, value=value)) == self._current(key)

    @rule(key=st.sampled_from(["a", "b"]), value=st.binary(max_size=2), version=st.integers(0, 4))
    def update(self, key: str, value: bytes, version: int) -> None:
        current = self.model.get(key, (b"", 0))[1]
        if current != version:
            expected = MapResult(
                ok=False,
                error=ERROR_VERSION_CONFLICT,
                key=key,
                value=self._current(key).value,
                version=current,
            )
        else:
            self.model[key] = (value, version + 1)
            expected = self._current(key)
        assert _run(self.machine, MapUpdate(key=key, value=value, version=version)) == expected

    @rule(key=st.sampled_from(["a", "b"]), version=st.none() | st.integers(0, 4))
    def delete(self, key: str, version: int | None) -> None:
        current = self._current(key)
        if key not in self.model:
            expected = MapResult(ok=False, error=ERROR_NOT_FOUND, key=key)
        elif version is not None and version != current.version:
            expected = MapResult(
                ok=False,
                error=ERROR_VERSION_CONFLICT,
                key=key,
                value=current.value,
                version=current.version,
            )
        else:
            del self.model[key]
            expected = current
        assert _run(self.machine, MapDelete(key=key, version=version)) == expected

    @rule(key=st.sampled_from(["a", "b"]))
    def get(self, key: str) -> None:
        expected = self._current(key)
        if key not in self.model:
            expected = MapResult(ok=False, error=ERROR_NOT_FOUND, key=key)
        assert decode_result(self.machine.query(encode_op(MapGet(key=key)))) == expected


TestMapAgainstDict = MapAgainstDict.TestCase
TestMapAgainstDict.settings = MODEL_SETTINGS
