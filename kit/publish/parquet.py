"""Reading a run's Parquet artifacts: the columns a reader needs, and the memory back after.

Every reader of an artifact (a notebook through :meth:`kit.publish.context.RunContext.read_parquet`,
the runner's history record and summary page) goes through :func:`read_parquet`, so none
holds columns it never looks at and none keeps Arrow's decoding buffers.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def release_arrow_memory() -> None:
    """Give the memory Arrow's allocator kept after a read or a write back to the system.

    pandas' text columns live in Arrow; reading a Parquet file decodes it into buffers that
    Arrow's allocator (mimalloc) keeps for reuse once the conversion is done. At a million
    customers, the spine read left 2.05 GB resident for a 1.1 GB frame, 1.36 GB after this.
    """
    pa.default_memory_pool().release_unused()


#: ``KIT_SPINE_COLUMNS=all`` in the environment: every reader of the spine takes every column,
#: whatever it asks for (to check a reader's list: its pages must not change).
SPINE_COLUMNS_ENV = "KIT_SPINE_COLUMNS"


def spine_columns_to_read(columns: Sequence[str] | None) -> list[str] | None:
    """The spine columns a reader asked for (each once), or None (every column) when
    ``KIT_SPINE_COLUMNS=all``."""
    if columns is None or os.environ.get(SPINE_COLUMNS_ENV, "") == "all":
        return None
    return list(dict.fromkeys(columns))


def column_names(path: str | Path) -> list[str]:
    """The columns of the Parquet file ``path`` (its index among them), from its schema only."""
    return pq.read_schema(path).names


def one_chunk(values):
    """``values`` (an index's or a column's array) in one piece when pandas holds it as Arrow
    chunks (text read from Parquet: a chunk per row group), else as it is.

    pandas takes rows of a chunked Arrow column in time that grows with the chunk count: at
    3M customers in 60 row groups, each take of 50,000 rows paid ~4.5 ms over a whole column,
    32 s over 05's deliverables. A column whose text would not fit Arrow's 2 GB of one piece
    stays chunked."""
    arrow = getattr(values, "__arrow_array__", None)
    if arrow is None or not isinstance(values.dtype, pd.api.extensions.ExtensionDtype):
        return values
    chunked = arrow()
    if not isinstance(chunked, pa.ChunkedArray) or chunked.num_chunks <= 1:
        return values
    try:
        return pd.array(chunked.combine_chunks(), dtype=values.dtype)
    except pa.ArrowInvalid:  # more than 2 GB of text in one column: left in pieces
        return values


def read_parquet(path: str | Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The Parquet file ``path`` as pandas reads it; ``columns``: only those of them the file
    has (the index, e.g. ``customer_id`` of the spine, always comes along). Text columns and
    the index come in one Arrow piece each (:func:`one_chunk`)."""
    if columns is not None:
        present = set(column_names(path))
        columns = [c for c in columns if c in present]
    frame = pd.read_parquet(path, columns=columns)
    for j in range(frame.shape[1]):
        col = frame.iloc[:, j]
        joined = one_chunk(col.array)
        if joined is not col.array:
            frame.isetitem(j, joined)
    if not isinstance(frame.index, pd.MultiIndex):
        index = one_chunk(frame.index.array)
        if index is not frame.index.array:
            frame.index = pd.Index(index, name=frame.index.name)
    release_arrow_memory()
    return frame


def replace_columns(path: str | Path, frame: pd.DataFrame, *, drop: Sequence[str] = (),
                    rows_per_batch: int = 50_000) -> Path:
    """Write ``frame``'s columns into the Parquet file ``path`` (replacing the file's columns
    of the same names in their places, adding the others after them), every other column of
    the file kept as it is but those named in ``drop`` (left out); the file's index and ``attrs`` stay.
    The file is streamed ``rows_per_batch`` rows at a time into a new file that then replaces
    it, so the columns not in ``frame`` never enter pandas: a notebook that read a few of the
    spine's columns writes its own back without holding the whole spine. At a million customers
    03's columns written back held 601 MB above the frame with batches of 200,000 rows, 271 MB
    with 50,000 (the default), in the same time (2.7 s).

    ``frame`` must have the file's index, in the file's order (a ``ValueError`` says what
    differs: the stage changed the customers, so it must write the whole spine).
    """
    path = Path(path)
    source = pq.ParquetFile(path)
    schema = source.schema_arrow
    pandas_meta = json.loads(schema.metadata[b"pandas"])
    index_cols = [c for c in pandas_meta.get("index_columns", []) if isinstance(c, str)]
    if len(index_cols) != 1 or frame.index.name != index_cols[0]:
        raise ValueError(f"{path.name}: columns can be replaced by a frame indexed by the file's "
                         f"{index_cols or 'index'} only (got {frame.index.name!r})")
    key = index_cols[0]
    stored = pq.read_table(path, columns=[key]).column(key)
    if len(stored) != len(frame) or not stored.equals(pa.chunked_array([pa.array(frame.index.astype("str"),
                                                                                  type=stored.type)])):
        raise ValueError(f"{path.name}: the frame's {key} are not the file's, in its order; write the whole table")
    # the frame's columns become Arrow a batch at a time (at a million customers a whole
    # copy of 03's columns held 300 MB more), with the types of the whole frame
    added = pa.Schema.from_pandas(frame, preserve_index=False)
    gone = set(drop) - set(frame.columns)
    if key in gone:
        raise ValueError(f"{path.name}: the index {key!r} cannot be dropped")
    keep = [n for n in schema.names if n not in frame.columns and n != key and n not in gone]
    # the file's columns in their places (those of ``frame`` replaced there), then the new ones
    order = [n for n in schema.names if n != key and n not in gone] + [c for c in frame.columns if c not in schema.names]
    # pandas' metadata of the result (dtypes, index, attrs): from an empty frame of it
    empty = schema.empty_table().to_pandas()
    shape = empty.drop(columns=[c for c in empty.columns if c in frame.columns or c in gone]).join(frame.iloc[:0])[order]
    meta = pa.Schema.from_pandas(shape, preserve_index=True).metadata
    fields = [added.field(n) if n in frame.columns else schema.field(n) for n in order] + [schema.field(key)]
    metadata = {**schema.metadata, b"pandas": meta[b"pandas"]}
    if frame.attrs:  # the stage's attrs (read with the columns, maybe added to), as pandas stores them
        metadata[b"PANDAS_ATTRS"] = json.dumps(frame.attrs).encode()
    out_schema = pa.schema(fields, metadata=metadata)
    tmp = path.with_name(f".{path.name}.writing")
    try:
        with pq.ParquetWriter(tmp, out_schema) as writer:
            at = 0
            for batch in source.iter_batches(batch_size=rows_per_batch, columns=keep + [key]):
                n = batch.num_rows
                part = pa.Table.from_pandas(frame.iloc[at:at + n], schema=added, preserve_index=False)
                arrays = [part.column(c).combine_chunks() if c in frame.columns else batch.column(c) for c in order]
                arrays.append(batch.column(key))
                writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=out_schema))
                at += n
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    release_arrow_memory()
    return path
