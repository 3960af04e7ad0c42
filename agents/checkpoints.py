"""Checkpoint files: a training run's whole state, written atomically and checked when read.

A checkpoint is one file: a magic line, a JSON header (format version, what was trained, the
update count, and a SHA-256 digest) and the payload, the run's pytree serialised by
``flax.serialization`` (msgpack). The digest covers the header and the payload together: it is
the SHA-256 of the header's other fields as canonical JSON (sorted keys), a zero byte, then the
payload, so an edited update count or run spec is refused like an edited payload. It is written
to a temporary file in the same folder, flushed to disk, then renamed over the old one, so a run
killed while saving leaves the previous checkpoint intact; a file that is truncated or altered
fails its checksum when read, with an error that names the file, and is never overwritten by a
run that cannot read it. Format version 1 (whose digest covered the payload only) is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from flax import serialization

from curriculax.types import PyTree

MAGIC = b"curriculax-checkpoint\n"
#: 2: the digest covers the header as well as the payload (1: the payload only).
FORMAT_VERSION = 2


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, or does not fit the run it is loaded into."""


def save(path: str | os.PathLike, tree: PyTree, header: dict[str, Any]) -> None:
    """Writes ``tree`` and ``header`` (JSON-serialisable) to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = serialization.to_bytes(tree)
    # As read back: JSON types and string keys (the digest is of what ``read_header`` sees).
    header = json.loads(json.dumps({k: v for k, v in header.items() if k != "sha256"}))
    header.update(format_version=FORMAT_VERSION, payload_bytes=len(payload))
    header["sha256"] = _digest(header, payload)
    head = json.dumps(header, sort_keys=True).encode()
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC)
            f.write(len(head).to_bytes(8, "little"))
            f.write(head)
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _digest(header: dict[str, Any], payload: bytes) -> str:
    """SHA-256 of the header's fields but ``sha256`` (canonical JSON), a zero byte, the payload."""
    fields = {k: v for k, v in header.items() if k != "sha256"}
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode())
    digest.update(b"\0")
    digest.update(payload)
    return digest.hexdigest()


def read_header(path: str | os.PathLike) -> tuple[dict[str, Any], bytes]:
    """The header and verified payload of the checkpoint at ``path``.

    Raises:
        CheckpointError: the file is missing, not a checkpoint, of another format version,
            truncated, or altered (in its header or its payload).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise CheckpointError(f"{path} is not a curriculax checkpoint")
    offset = len(MAGIC)
    if len(data) < offset + 8:
        raise CheckpointError(f"{path} is truncated (no header)")
    size = int.from_bytes(data[offset : offset + 8], "little")
    offset += 8
    try:
        header = json.loads(data[offset : offset + size])
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} has a corrupt header: {err}") from None
    if not isinstance(header, dict) or "sha256" not in header:
        raise CheckpointError(f"{path} has a corrupt header")
    if header.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format version {header.get('format_version')}; this curriculax "
            f"reads version {FORMAT_VERSION} (train the run again, or read it with the "
            "curriculax that wrote it)"
        )
    payload = data[offset + size :]
    if len(payload) != header.get("payload_bytes"):
        raise CheckpointError(
            f"{path} is truncated or padded: payload of {len(payload)} bytes, header says "
            f"{header.get('payload_bytes')}"
        )
    if _digest(header, payload) != header["sha256"]:
        raise CheckpointError(
            f"{path} is corrupt: its header or payload was altered (the SHA-256 over both "
            "does not match)"
        )
    return header, payload


def load(path: str | os.PathLike, template: PyTree) -> tuple[PyTree, dict[str, Any]]:
    """The tree saved at ``path``, restored into the structure of ``template``.

    Raises:
        CheckpointError: the file is missing or corrupt, or its tree does not fit ``template``.
    """
    header, payload = read_header(path)
    try:
        saved = serialization.msgpack_restore(payload)
        state = _with_absent_fields(serialization.to_state_dict(template), saved)
        tree = serialization.from_state_dict(template, state)
    except (ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{path} does not fit this run's state: {err}") from None
    import jax

    want = [getattr(x, "shape", None) for x in jax.tree.leaves(template)]
    got = [getattr(x, "shape", None) for x in jax.tree.leaves(tree)]
    if want != got:
        raise CheckpointError(
            f"{path} does not fit this run's state (array shapes differ: was it saved with "
            f"another config, env or number of seeds?)"
        )
    return tree, header


def _with_absent_fields(want: Any, saved: Any) -> Any:
    """``saved`` with the fields that ``want`` holds as ``None`` and ``saved`` lacks added.

    A field added to a state later (e.g. ``RunnerState.return_norm``) is ``None`` in every run
    that does not use it; checkpoints written before it existed load into such runs.
    """
    if not isinstance(want, dict) or not isinstance(saved, dict):
        return saved
    added = {k: None for k, v in want.items() if v is None and k not in saved}
    return {
        **{k: _with_absent_fields(want[k], v) if k in want else v for k, v in saved.items()},
        **added,
    }
