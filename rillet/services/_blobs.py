"""A stored value's bytes, as the API hands them out: a download, and the preview of a
DataFrame (its schema and first rows, read with pyarrow).

The artifact store is not trusted (docs/durable.md, "Integrity"): the bytes are copied
into a temporary file (in memory up to :data:`SPOOL`, then on disk) while they are
hashed, and used only when ``sha256(header + bytes)`` equals the value's digest. Only
then does a download stream them, or pyarrow read them. A pickled value is never
loaded: it has no preview (a 400 saying so); its bytes may be downloaded as they are.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import io
import json
import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from rillet.engine._records import ArtifactRecord
from rillet.errors import NotFound, ValueUnavailable
from rillet.services._values import PICKLED
from rillet.store._instance import Instance
from rillet.types._descriptor import describe_name

CHUNK = 1 << 20
SPOOL = 16 << 20  # a verified copy stays in memory up to this size, then goes to disk
DEFAULT_ROWS = 50
MAX_ROWS = 500
MAX_TEXT = 1000  # characters of one cell shown in a preview
SUFFIXES = {"parquet": ".parquet", "npy": ".npy", "dir": ".tar", "pickle": ".pkl",
            "json": ".json"}
MEDIA = {"parquet": "application/vnd.apache.parquet", "json": "application/json"}


class NotPreviewable(ValueError):
    """The value has no preview (it is not a DataFrame, or it is pickled)."""


@dataclass
class Download:
    """The verified bytes of one value, ready to stream (``chunks`` closes them)."""

    digest: str
    filename: str
    media_type: str
    size: int
    body: IO[bytes]

    def chunks(self) -> Iterator[bytes]:
        try:
            while chunk := self.body.read(CHUNK):
                yield chunk
        finally:
            self.body.close()

    def close(self) -> None:
        self.body.close()


def record_of(inst: Instance, digest: str) -> ArtifactRecord:
    found = inst.store.artifacts([digest]).get(digest)
    if found is None:
        raise NotFound(f"no artifact {digest!r}")
    return found


def verified_copy(inst: Instance, record: ArtifactRecord) -> IO[bytes]:
    """A temporary file holding the value's bytes, checked against its digest (read
    once from the artifact store, in chunks); positioned at its start."""
    short = record.hash[:12]
    if record.purged:
        raise ValueUnavailable(f"artifact {short} was pruned: its bytes are no longer stored",
                               digest=record.hash, uri=record.uri, reason="pruned")
    if record.uri is None:  # kept inline in the metadata store, the root of trust
        text = record.inline if record.inline is not None else "null"
        return io.BytesIO(text.encode("utf-8"))
    from rillet.types._literal import blob_headers

    meta = json.loads(record.inline) if record.inline is not None else None
    hashers = [hashlib.sha256(h) for h in blob_headers(record.format, record.tag, meta)]
    copy = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 - handed to the caller
    try:
        with _open(inst, record) as source:
            while chunk := source.read(CHUNK):
                for h in hashers:
                    h.update(chunk)
                copy.write(chunk)
        if not any(h.hexdigest() == record.hash for h in hashers):
            raise ValueUnavailable(
                f"artifact {short} is corrupt: the bytes at {record.uri!r} do not hash to "
                "its digest (not served)", digest=record.hash, uri=record.uri,
                reason="corrupt")
        copy.seek(0)
        return copy
    except BaseException:
        copy.close()
        raise


def _open(inst: Instance, record: ArtifactRecord) -> IO[bytes]:
    uri = record.uri
    assert uri is not None
    try:
        opener = getattr(inst.artifacts, "open", None)
        if opener is not None:
            return opener(uri)  # type: ignore[no-any-return]
        return io.BytesIO(inst.artifacts.get(uri))
    except NotFound:
        raise ValueUnavailable(f"artifact {record.hash[:12]} is missing: no bytes at {uri!r}",
                               digest=record.hash, uri=uri, reason="missing") from None


def download(inst: Instance, digest: str) -> Download:
    """The value's bytes as stored (a DataFrame's parquet, a file's content, a pickle's
    bytes unloaded), verified first; its file name and media type."""
    record = record_of(inst, digest)
    body = verified_copy(inst, record)
    size = body.seek(0, io.SEEK_END)
    body.seek(0)
    return Download(digest=record.hash, filename=_filename(record),
                    media_type=MEDIA.get(record.format, "application/octet-stream"),
                    size=size, body=body)


def _filename(record: ArtifactRecord) -> str:
    if record.format == "file" and record.inline is not None:
        meta = json.loads(record.inline)
        name = meta.get("name") if isinstance(meta, dict) else None
        if isinstance(name, str) and name.strip() and "/" not in name and "\\" not in name:
            return name
    return record.hash[:12] + SUFFIXES.get(record.format, ".bin")


def preview(inst: Instance, digest: str, rows: int = DEFAULT_ROWS) -> dict[str, Any]:
    """The schema and first ``rows`` rows (at most :data:`MAX_ROWS`) of a stored
    DataFrame (parquet), read with pyarrow from its verified bytes."""
    record = record_of(inst, digest)
    what = f"artifact {record.hash[:12]} ({describe_name(record.type)})"
    if record.format in PICKLED:
        raise NotPreviewable(f"{what} is pickled: a pickle runs code when it is loaded, so "
                             "it is never previewed (download its bytes instead)")
    if record.format != "parquet":
        raise NotPreviewable(f"{what} is stored as {record.format}: only DataFrames "
                             "(parquet) have a preview")
    if not 1 <= rows <= MAX_ROWS:
        raise ValueError(f"rows must be 1..{MAX_ROWS}, not {rows}")
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise NotPreviewable("previews need pyarrow: pip install 'rillet[data]'") from None
    with verified_copy(inst, record) as body:
        try:
            parquet = pq.ParquetFile(body)
            schema = parquet.schema_arrow
            taken: list[dict[str, Any]] = []
            for batch in parquet.iter_batches(batch_size=rows):
                taken.extend(batch.to_pylist()[:rows - len(taken)])
                if len(taken) >= rows:
                    break
            total = parquet.metadata.num_rows
        except (pa.ArrowException, OSError) as exc:
            raise NotPreviewable(f"{what} is not a readable parquet table: {exc}") from None
    return {
        "hash": record.hash, "type": describe_name(record.type), "size": record.size,
        "num_rows": total, "num_columns": len(schema),
        "columns": [{"name": f.name, "type": str(f.type), "nullable": f.nullable}
                    for f in schema],
        "rows": [{str(k): _cell(v) for k, v in row.items()} for row in taken],
        "truncated": total > len(taken),
    }


def _cell(v: Any) -> Any:
    """A cell as JSON: numbers, strings, booleans and null as they are; dates, times
    and decimals as text; a float that is not finite as its name; long text cut."""
    if v is None or isinstance(v, (bool, int)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, str):
        return v if len(v) <= MAX_TEXT else v[:MAX_TEXT] + "…"
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, (datetime.timedelta, decimal.Decimal)):
        return str(v)
    if isinstance(v, (bytes, bytearray)):
        return _cell(bytes(v).hex())
    if isinstance(v, dict):
        return {str(k): _cell(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_cell(x) for x in v]
    return _cell(str(v))
