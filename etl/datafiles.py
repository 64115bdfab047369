"""The landed data files: zstd JSON lines named by their checksum, and atomic small files.

A data file is written as independent zstd frames of 1 MiB of input, so the same lines always give
the same bytes and the same name (docs/decisions/0048); it is durable before any manifest names it.
"""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

from etl.durable import fsync_dir

DATA_PREFIX = "data-"
DATA_SUFFIX = ".jsonl.zst"
# Windows landed before zstd: still read (by suffix), and removed when their window lands again.
LEGACY_DATA_SUFFIXES = (".jsonl.gz",)
ZSTD_LEVEL = 1
_FRAME_BYTES = 1 << 20
_COPY_CHUNK = 1 << 20
_LINES_PER_WRITE = 4096


class _HashingWriter:
    """Passes bytes to a file while computing their SHA-256 (the checksum of the file as stored)."""

    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()


def write_bytes_atomically(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Readers see the old file or the new one, never a mix; `durable` also survives power loss."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def write_json_atomically(path: Path, payload: dict[str, Any], *, durable: bool = True) -> None:
    text = json.dumps(payload, ensure_ascii=False, indent=1) + "\n"
    write_bytes_atomically(path, text.encode("utf-8"), durable=durable)


def _copy_kept_lines(source, sink, superseded: set[int]) -> int:
    """Copy the spool's lines except the superseded ones; returns the number of lines read."""
    if not superseded:
        lines = 0
        while chunk := source.read(_COPY_CHUNK):
            lines += chunk.count(b"\n")
            sink.write(chunk)
        return lines
    buffer: list[bytes] = []
    lines = 0
    for number, line in enumerate(source):
        lines += 1
        if number not in superseded:
            buffer.append(line)
            if len(buffer) >= _LINES_PER_WRITE:
                sink.write(b"".join(buffer))
                buffer.clear()
    if buffer:
        sink.write(b"".join(buffer))
    return lines


class _ZstdFrames:
    """Compresses what is written to it as zstd frames of _FRAME_BYTES of input each: the frame
    boundaries depend on the bytes alone, never on how they were written."""

    def __init__(self, sink) -> None:
        import zstandard

        self.sink = sink
        self.compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        self.pending = bytearray()

    def write(self, data: bytes) -> int:
        self.pending += data
        while len(self.pending) >= _FRAME_BYTES:
            self._frame(_FRAME_BYTES)
        return len(data)

    def _frame(self, size: int) -> None:
        block = bytes(self.pending[:size])
        del self.pending[:size]
        self.sink.write(self.compressor.compress(block))

    def close(self) -> None:
        if self.pending:
            self._frame(len(self.pending))


def write_data_file(spool: Path, target: Path, superseded: set[int], expected_lines: int) -> tuple[str, str]:
    """Write the kept lines as zstd JSONL into `target`; returns (file name, sha256)."""
    tmp = target / f".{DATA_PREFIX}{uuid.uuid4().hex}.tmp"
    try:
        with open(spool, "rb") as source, open(tmp, "wb") as raw:
            hashing = _HashingWriter(raw)
            # The same rows give the same bytes, hence the same name and checksum, so re-landing
            # unchanged data is a no-op downstream.
            frames = _ZstdFrames(hashing)
            lines = _copy_kept_lines(source, frames, superseded)
            frames.close()
            raw.flush()
            os.fsync(raw.fileno())
        if lines != expected_lines:
            raise RuntimeError(
                f"spool {spool.name} holds {lines} records but its metadata says {expected_lines}: "
                "it was altered or truncated; extract the window again"
            )
        digest = hashing.digest.hexdigest()
        name = f"{DATA_PREFIX}{digest[:16]}{DATA_SUFFIX}"
        final = target / name
        if final.exists():
            tmp.unlink()  # same name = same bytes: the file is already there, and stays immutable
        else:
            os.replace(tmp, final)
            fsync_dir(target)  # the data file is durable before any manifest can name it
        return name, digest
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_unlisted(target: Path, keep: set[str],
                    suffixes: tuple[str, ...] = (DATA_SUFFIX, *LEGACY_DATA_SUFFIXES)) -> None:
    """Remove a window's data files its manifest no longer names, and leftover temp files."""
    for path in target.iterdir():
        name = path.name
        unlisted_data = name.startswith(DATA_PREFIX) and name.endswith(suffixes) and name not in keep
        leftover_tmp = name.startswith(".") and name.endswith(".tmp")
        if unlisted_data or leftover_tmp:
            path.unlink(missing_ok=True)
