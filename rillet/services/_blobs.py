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
MAX_COLUMNS = 200  # columns of an array or a list of records shown
MAX_JSON = 32 << 20  # a stored JSON value larger than this has no preview
MAX_FILE_HEAD = 256 << 10  # the bytes of a file read for its preview
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
    """The first ``rows`` rows (at most :data:`MAX_ROWS`) of a stored value, read from
    its verified bytes, as a table (columns with their types, rows), with ``kind``:

    - ``dataframe`` (parquet, read with pyarrow): its schema and first rows;
    - ``ndarray`` (npy): its ``shape`` and dtype, the first rows along the first axis
      (read from the header and those rows only; an array of objects, which npy
      pickles, is refused);
    - ``json`` (a JSON value, kept inline or stored): a list of records as a table, a
      list as one column, a dict as key and value, a scalar as one row;
    - ``csv`` (a File named ``*.csv`` or ``*.tsv``): its header and first rows, as text;
    - ``text`` (another File of UTF-8 text): its first lines in ``text``.

    A pickle or a directory has none (``NotPreviewable``: a 400); a value of those
    formats whose content cannot be shown (an array of objects, a binary file, JSON too
    large) answers ``kind: none`` with the ``reason``."""
    record = record_of(inst, digest)
    what = f"artifact {record.hash[:12]} ({describe_name(record.type)})"
    if record.format in PICKLED:
        raise NotPreviewable(f"{what} is pickled: a pickle runs code when it is loaded, so "
                             "it is never previewed (download its bytes instead)")
    reader = _PREVIEWS.get(record.format)
    if reader is None:
        raise NotPreviewable(f"{what} is stored as {record.format}: it has no preview "
                             "(download it)")
    if not 1 <= rows <= MAX_ROWS:
        raise ValueError(f"rows must be 1..{MAX_ROWS}, not {rows}")
    with verified_copy(inst, record) as body:
        try:
            shown = reader(record, body, rows, what)
        except NotPreviewable as exc:  # this value's content: said, not an error
            shown = {"kind": "none", "reason": str(exc), "num_rows": 0, "num_columns": 0,
                     "columns": [], "rows": [], "truncated": False}
    return {"hash": record.hash, "type": describe_name(record.type), "size": record.size,
            "shape": None, "text": None, "reason": None, **shown}


def _table(kind: str, columns: list[dict[str, Any]], taken: list[dict[str, Any]],
           total: int, **more: Any) -> dict[str, Any]:
    return {"kind": kind, "num_rows": total, "num_columns": len(columns),
            "columns": columns, "rows": [{str(k): _cell(v) for k, v in row.items()}
                                         for row in taken],
            "truncated": total > len(taken), **more}


def _parquet(record: ArtifactRecord, body: IO[bytes], rows: int, what: str) -> dict[str, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise NotPreviewable("previews need pyarrow: pip install 'rillet[data]'") from None
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
    columns = [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]
    return _table("dataframe", columns, taken, total)


def _npy(record: ArtifactRecord, body: IO[bytes], rows: int, what: str) -> dict[str, Any]:
    try:
        import numpy as np
    except ImportError:
        raise NotPreviewable("an ndarray's preview needs numpy") from None
    fmt = np.lib.format
    try:
        version = fmt.read_magic(body)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(body)
        else:
            shape, fortran, dtype = fmt.read_array_header_2_0(body)
    except ValueError as exc:
        raise NotPreviewable(f"{what} is not a readable npy array: {exc}") from None
    if dtype.hasobject:
        raise NotPreviewable(f"{what} is an array of Python objects, which npy stores "
                             "pickled: never previewed (download its bytes instead)")
    dims = [int(d) for d in shape]
    total = dims[0] if dims else 1
    take = min(rows, total)
    inner = dims[1:] if dims else []
    count = take * int(np.prod(inner, dtype=np.int64)) if dims else 1
    data = body.read(count * dtype.itemsize)
    if len(data) < count * dtype.itemsize:
        raise NotPreviewable(f"{what} is shorter than its npy header says")
    flat = np.frombuffer(data, dtype=dtype, count=count)
    if fortran and len(dims) > 1:  # (rillet writes C order; an F-ordered npy is read whole)
        body.seek(0)
        array = np.load(body, allow_pickle=False)
        part = array[:take]
    else:
        part = flat.reshape([take, *inner] if dims else [])
    kind = str(dtype)
    if not dims:
        return _table("ndarray", [{"name": "value", "type": kind, "nullable": False}],
                      [{"value": part.item()}], 1, shape=dims)
    if len(dims) == 2:
        columns = [{"name": str(j), "type": kind, "nullable": False}
                   for j in range(min(dims[1], MAX_COLUMNS))]
        taken = [{str(j): row[j].item() for j in range(len(columns))} for row in part]
        return _table("ndarray", columns, taken, total, shape=dims)
    taken = [{"value": item.tolist() if hasattr(item, "tolist") else item} for item in part]
    return _table("ndarray", [{"name": "value", "type": kind, "nullable": False}], taken,
                  total, shape=dims)


def _json_type(v: Any) -> str:
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list",
            dict: "dict", type(None): "null"}.get(type(v), type(v).__name__)


def _json(record: ArtifactRecord, body: IO[bytes], rows: int, what: str) -> dict[str, Any]:
    if record.size > MAX_JSON:
        raise NotPreviewable(f"{what} is {record.size} bytes of JSON: over the preview's "
                             f"{MAX_JSON} (download it)")
    try:
        value = json.loads(body.read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotPreviewable(f"{what} is not readable JSON: {exc}") from None
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        names: dict[str, set[str]] = {}
        for item in value[:rows]:
            for k, v in item.items():
                names.setdefault(str(k), set()).add(_json_type(v))
        columns = [{"name": k, "type": " | ".join(sorted(t - {"null"}) or ["null"]),
                    "nullable": "null" in t or any(k not in i for i in value[:rows])}
                   for k, t in list(names.items())[:MAX_COLUMNS]]
        taken = [{str(c["name"]): item.get(str(c["name"])) for c in columns}
                 for item in value[:rows]]
        return _table("json", columns, taken, len(value))
    if isinstance(value, list):
        types = sorted({_json_type(v) for v in value[:rows]}) or ["null"]
        return _table("json", [{"name": "value", "type": " | ".join(types), "nullable": False}],
                      [{"value": v} for v in value[:rows]], len(value))
    if isinstance(value, dict):
        items = list(value.items())
        return _table("json", [{"name": "key", "type": "str", "nullable": False},
                               {"name": "value", "type": "json", "nullable": True}],
                      [{"key": k, "value": v} for k, v in items[:rows]], len(items))
    return _table("json", [{"name": "value", "type": _json_type(value), "nullable": True}],
                  [{"value": value}], 1)


def _file(record: ArtifactRecord, body: IO[bytes], rows: int, what: str) -> dict[str, Any]:
    name = _filename(record)
    head = body.read(MAX_FILE_HEAD)
    cut = len(head) == MAX_FILE_HEAD and body.read(1) != b""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not (cut and exc.start > len(head) - 4):  # a character cut at the end is fine
            raise NotPreviewable(f"{what} ({name}) is not UTF-8 text: it has no preview "
                                 "(download it)") from None
        text = head[:exc.start].decode("utf-8")
    if "\x00" in text:
        raise NotPreviewable(f"{what} ({name}) is a binary file: it has no preview "
                             "(download it)")
    lines = text.splitlines()
    if cut and lines:
        lines = lines[:-1]  # the last line may be cut
    if name.lower().endswith((".csv", ".tsv")):
        import csv

        parsed = list(csv.reader(lines[:rows + 1],
                                 delimiter="\t" if name.lower().endswith(".tsv") else ","))
        header = parsed[0] if parsed else []
        columns = [{"name": h or f"column {i + 1}", "type": "text", "nullable": True}
                   for i, h in enumerate(header[:MAX_COLUMNS])]
        taken: list[dict[str, Any]] = [
            {str(c["name"]): (r[i] if i < len(r) else None) for i, c in enumerate(columns)}
            for r in parsed[1:]]
        total = len(lines) - 1 if not cut else max(len(lines) - 1, len(taken))
        out = _table("csv", columns, taken, total)
        out["truncated"] = cut or total > len(taken)
        return out
    shown = lines[:rows]
    return {"kind": "text", "num_rows": len(lines), "num_columns": 0, "columns": [],
            "rows": [], "truncated": cut or len(lines) > len(shown),
            "text": "\n".join(line if len(line) <= MAX_TEXT else line[:MAX_TEXT] + "…"
                              for line in shown)}


_PREVIEWS = {"parquet": _parquet, "npy": _npy, "json": _json, "file": _file}


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
