"""Checkpoint files: the digest covers the header as well as the payload."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from flax import struct

from curriculax.agents import checkpoints
from curriculax.agents.checkpoints import MAGIC, CheckpointError

TREE = {"a": np.arange(4, dtype=np.int32), "b": np.ones((2, 3), np.float32)}
TEMPLATE = {"a": np.zeros(4, np.int32), "b": np.zeros((2, 3), np.float32)}


def _parts(data: bytes) -> tuple[dict, bytes]:
    offset = len(MAGIC)
    size = int.from_bytes(data[offset : offset + 8], "little")
    header = json.loads(data[offset + 8 : offset + 8 + size])
    return header, data[offset + 8 + size :]


def _write(path, header: dict, payload: bytes) -> None:
    head = json.dumps(header, sort_keys=True).encode()
    path.write_bytes(MAGIC + len(head).to_bytes(8, "little") + head + payload)


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "c.ckpt"
    checkpoints.save(path, TREE, {"update": 6, "spec": {"seed": 3}})
    return path


def test_a_checkpoint_reads_back_with_its_header(saved):
    tree, header = checkpoints.load(saved, TEMPLATE)
    assert header["update"] == 6 and header["spec"] == {"seed": 3}
    assert header["format_version"] == checkpoints.FORMAT_VERSION == 2
    np.testing.assert_array_equal(tree["a"], TREE["a"])


@pytest.mark.parametrize(
    ("edit", "value"),
    [("update", 7), ("spec", {"seed": 4}), ("payload_bytes", 1)],
)
def test_an_edited_header_is_refused_like_an_edited_payload(saved, edit, value):
    header, payload = _parts(saved.read_bytes())
    header[edit] = value
    _write(saved, header, payload)
    edited = saved.read_bytes()
    with pytest.raises(CheckpointError, match=r"c\.ckpt"):
        checkpoints.load(saved, TEMPLATE)
    assert saved.read_bytes() == edited  # reading changes nothing


def test_the_update_count_edited_in_place_fails_the_digest(saved):
    data = saved.read_bytes()
    assert data.count(b'"update": 6') == 1
    saved.write_bytes(data.replace(b'"update": 6', b'"update": 9'))  # same length
    with pytest.raises(CheckpointError, match="header or payload was altered"):
        checkpoints.read_header(saved)


def test_an_edited_payload_is_still_refused(saved):
    data = bytearray(saved.read_bytes())
    data[-3] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="header or payload was altered"):
        checkpoints.load(saved, TEMPLATE)


def test_a_version_1_file_is_a_clear_error(saved):
    header, payload = _parts(saved.read_bytes())
    header.update(format_version=1, sha256=hashlib.sha256(payload).hexdigest())  # v1's digest
    _write(saved, header, payload)
    with pytest.raises(CheckpointError, match="format version 1; this curriculax reads version 2"):
        checkpoints.load(saved, TEMPLATE)


def test_a_stale_digest_in_the_given_header_is_ignored(tmp_path):
    path = tmp_path / "c.ckpt"
    checkpoints.save(path, TREE, {"update": 1, "sha256": "0" * 64})
    _, header = checkpoints.load(path, TEMPLATE)
    assert header["sha256"] != "0" * 64


@struct.dataclass
class _Before:
    a: np.ndarray


@struct.dataclass
class _After:
    a: np.ndarray
    added: np.ndarray | None = None


def test_a_checkpoint_from_before_a_field_was_added_loads_where_the_field_is_unused(tmp_path):
    path = tmp_path / "old.ckpt"
    checkpoints.save(path, _Before(a=np.arange(3.0)), {"update": 1})
    tree, _ = checkpoints.load(path, _After(a=np.zeros(3)))
    np.testing.assert_array_equal(tree.a, np.arange(3.0))
    assert tree.added is None
    # a run that uses the field cannot start from state that never had it
    with pytest.raises(CheckpointError, match="does not fit"):
        checkpoints.load(path, _After(a=np.zeros(3), added=np.zeros(2)))
