"""A notebook writes back only its columns of the spine: kit.publish.parquet.replace_columns
gives the file the whole-frame write would have given, without reading the other columns."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kit.publish.parquet import read_parquet, replace_columns


def _spine(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"C{i:05d}" for i in rng.permutation(n)], name="customer_id", dtype="str")
    spine = pd.DataFrame({
        "value_tier": pd.Series(rng.choice(["high", "medium", "low"], n), dtype="str"),
        "amount_12m": rng.gamma(2.0, 100.0, n),
        "orders_total": rng.integers(1, 9, n),
        "clv_rank": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(1, n + 1, n)), dtype="Int64"),
        "first_purchase": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D"),
        "upgrade_trigger": rng.random(n) < 0.3,
        "name": pd.Series(np.where(rng.random(n) < 0.1, None, [f"客户{i}" for i in range(n)]), dtype="str"),
    }, index=ids)
    spine.attrs = {"notes": [{"code": "layering.proxy", "params": {"n": 3}}]}
    return spine


@pytest.mark.parametrize("seed", range(3))
def test_replacing_columns_equals_writing_the_whole_frame(tmp_path, seed):
    spine = _spine(257, seed)
    path = tmp_path / "customers.parquet"
    spine.to_parquet(path)
    rng = np.random.default_rng(100 + seed)
    read = read_parquet(path, ["amount_12m", "value_tier"])  # what a notebook reads
    assert list(read.columns) == ["amount_12m", "value_tier"] and read.attrs == spine.attrs
    new = read.assign(value_tier=read["value_tier"].str.upper(), clv=rng.gamma(1.0, 50.0, len(read)),
                      quadrant=pd.Series(rng.choice(["star", "potential"], len(read)), index=read.index, dtype="str"))
    new.attrs = {**spine.attrs, "clv_notes": ["x"]}
    replace_columns(path, new, rows_per_batch=19)  # many batches, the last one short
    whole = spine.assign(amount_12m=new["amount_12m"], value_tier=new["value_tier"]).join(new[["clv", "quadrant"]])
    got = pd.read_parquet(path)
    pd.testing.assert_frame_equal(got, whole)  # replaced columns in their places, new ones after
    assert got.attrs == new.attrs
    assert not list(tmp_path.glob(".*writing"))


def test_other_customers_or_order_are_refused(tmp_path):
    spine = _spine(40, 1)
    path = tmp_path / "customers.parquet"
    spine.to_parquet(path)
    before = path.read_bytes()
    shuffled = spine[["amount_12m"]].iloc[::-1]
    with pytest.raises(ValueError, match="not the file's"):
        replace_columns(path, shuffled)
    with pytest.raises(ValueError, match="not the file's"):
        replace_columns(path, spine[["amount_12m"]].iloc[:-1])
    with pytest.raises(ValueError, match="indexed by"):
        replace_columns(path, spine[["amount_12m"]].reset_index())
    assert path.read_bytes() == before and not list(tmp_path.glob(".*writing"))


def test_dropped_columns_leave_the_file_unless_the_frame_writes_them(tmp_path):
    """``drop``: a stage's columns of an earlier run that it did not write again go; a dropped
    name the frame has is replaced as usual; the index cannot be dropped."""
    spine = _spine(83, 2)
    path = tmp_path / "customers.parquet"
    spine.to_parquet(path)
    new = read_parquet(path, ["orders_total"]).assign(tag_new=1.5)
    replace_columns(path, new, drop=["upgrade_trigger", "name", "tag_new", "not_there"], rows_per_batch=10)
    got = pd.read_parquet(path)
    expected = spine.drop(columns=["upgrade_trigger", "name"]).join(new[["tag_new"]])
    pd.testing.assert_frame_equal(got, expected)
    assert got.attrs == spine.attrs
    with pytest.raises(ValueError, match="cannot be dropped"):
        replace_columns(path, new, drop=["customer_id"])


def test_text_columns_and_the_index_are_read_in_one_piece(tmp_path):
    """A spine written in row groups reads as pandas reads it, but each text column and the
    index in one Arrow piece (pandas takes rows of a chunked column in time that grows with
    the chunk count, 05's deliverables take every row)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    spine = _spine(300, 4)
    path = tmp_path / "customers.parquet"
    pq.write_table(pa.Table.from_pandas(spine), path, row_group_size=70)  # five row groups
    plain = pd.read_parquet(path)
    assert plain["name"].array.__arrow_array__().num_chunks == 5  # what pandas gives
    got = read_parquet(path)
    pd.testing.assert_frame_equal(got, plain)
    assert got.attrs == plain.attrs
    for col in ("name", "value_tier"):
        assert got[col].array.__arrow_array__().num_chunks == 1, col
    assert got.index.array.__arrow_array__().num_chunks == 1
    part = read_parquet(path, ["value_tier"])
    assert part["value_tier"].array.__arrow_array__().num_chunks == 1
