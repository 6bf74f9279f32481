"""The SQL written once: the purchase predicate and the summary text, per dialect."""
from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from kit.core.dialect import DUCKDB, SPARK
from kit.stages.summary_sql import purchase_filter, summary_sql
from kit.stages.features import PURCHASE_SQL, purchase_mask, purchase_sql


def test_purchase_sql_is_purchase_mask():
    """PURCHASE_SQL keeps exactly the rows purchase_mask keeps (missing values included)."""
    tx = pd.DataFrame({
        "amount": [10.0, 0.0, -5.0, np.nan, 3.0, 4.0, 7.0],
        "is_return": pd.array([False, False, False, False, True, None, None], dtype="boolean"),
    })
    con = duckdb.connect()
    con.register("t", tx)
    for frame, sql in ((tx, purchase_filter(tx.columns, "amount", DUCKDB)),
                       (tx.drop(columns="is_return"), purchase_filter(["amount"], "amount", DUCKDB))):
        con.register("t", frame)
        got = con.sql(f"SELECT coalesce({sql}, false) AS p FROM t").df()["p"].to_numpy()
        assert got.tolist() == purchase_mask(frame).tolist()
    assert purchase_sql('"amount"', '"is_return"') == PURCHASE_SQL.format(amount='"amount"', is_return='"is_return"')


@pytest.mark.parametrize("as_of", [pd.Timestamp("2024-06-30"), None])
@pytest.mark.parametrize("amount_col", ["amount", None])
def test_summary_sql_differs_between_dialects_in_quotes_and_day_count_only(as_of, amount_col):
    kw = dict(amount_col=amount_col, purchase_filter=purchase_filter(["amount", "is_return"], amount_col, SPARK))
    spark = summary_sql("v", as_of, 7.0, dialect=SPARK, **kw)
    kw["purchase_filter"] = purchase_filter(["amount", "is_return"], amount_col, DUCKDB)
    duck = summary_sql("v", as_of, 7.0, dialect=DUCKDB, **kw)
    assert spark != duck
    as_duck = re.sub(r"datediff\((.+?), (first_day)\)", r"date_diff('day', \2, \1)", spark.replace("`", '"'))
    assert as_duck == duck


def test_dialects():
    assert DUCKDB.ident('a"b') == '"a""b"' and SPARK.ident("a`b") == "`a``b`"
    assert DUCKDB.days_between("x", "y") == "date_diff('day', x, y)"
    assert SPARK.days_between("x", "y") == "datediff(y, x)"
    days = DUCKDB.days_between("DATE '2024-01-01'", "DATE '2024-03-01'")
    assert duckdb.sql(f"SELECT {days}").fetchall()[0][0] == 60


def test_a_spark_run_without_pyspark_says_what_to_do(monkeypatch):
    """engine.name spark where pyspark cannot be imported: one line naming the fix, no traceback."""
    import sys

    from kit.core import paths
    from kit.core.config import ConfigError, load_config
    from kit.engines.dispatch import spark_for

    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark now raises ImportError
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    cfg = load_config(paths.DEFAULT_CONFIG)
    with pytest.raises(ConfigError) as e:
        spark_for(cfg.model_copy(update={"engine": cfg.engine.model_copy(update={"name": "spark"})}))
    msg = str(e.value)
    assert "\n" not in msg and 'pip install -e ".[spark]"' in msg and "engine.name: duckdb" in msg


def test_dialects_write_what_differs():
    assert DUCKDB.lit("it's") == "'it''s'" and SPARK.lit("it's\\d") == "'it\\'s\\\\d'"
    assert DUCKDB.full_match("c", "a+") == "regexp_full_match(c, 'a+')"
    assert SPARK.full_match("c", "a+") == "(c RLIKE '^(?:a+)$')"
    assert SPARK.int_div("a", "b") == "(a div b)" and DUCKDB.int_div("a", "b") == "(a // b)"
    got = duckdb.sql(f"SELECT {DUCKDB.sorted_list('v', 'v > 1')} AS l, {DUCKDB.sorted_list('v')} AS m "
                     "FROM (VALUES (3), (1), (2)) AS t(v)").fetchall()[0]
    assert got == ([2, 3], [1, 2, 3])
