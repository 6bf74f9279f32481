"""Step lines of long stages (kit.core.progress): never in a page, shown by kit run."""
from __future__ import annotations

import logging

from kit.core import progress


def test_a_step_logs_rows_and_seconds_to_the_file_only(tmp_path, capsys):
    log = tmp_path / "progress.log"
    before = list(progress.LOGGER.handlers)
    try:
        with progress.step("layering", "features", rows=2_800_000):
            pass
        assert not log.exists()  # no file yet: the line is dropped, not printed
        progress.log_to_file(log)
        progress.log_to_file(log)  # twice: one handler
        assert len(progress.LOGGER.handlers) == len(before) + 1
        with progress.step("clv", "fit"):
            pass
        for h in progress.LOGGER.handlers:
            h.flush()
        lines, offset = progress.new_lines(log, 0)
        assert len(lines) == 1 and lines[0].startswith("clv: fit, ") and lines[0].endswith(" s")
        with progress.step("layering", "features", rows=2_800_000):
            pass
        for h in progress.LOGGER.handlers:
            h.flush()
        more, _ = progress.new_lines(log, offset)
        assert len(more) == 1 and more[0].startswith("layering: features, 2,800,000 rows, ")
    finally:
        for h in progress.LOGGER.handlers[len(before):]:
            progress.LOGGER.removeHandler(h)
            h.close()
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""  # nothing reaches a notebook's output
    assert progress.LOGGER.propagate is False and progress.LOGGER.level == logging.INFO


def test_new_lines_waits_for_a_complete_line(tmp_path):
    log = tmp_path / "p.log"
    log.write_bytes(b"clean: read, 1.0 s\nclean: casc")
    lines, offset = progress.new_lines(log, 0)
    assert lines == ["clean: read, 1.0 s"] and offset == len(b"clean: read, 1.0 s\n")
    assert progress.new_lines(tmp_path / "missing.log", 0) == ([], 0)


def test_the_cleaning_cascade_reports_each_step(tmp_path):
    """A long cleaning (minutes on Spark at 10M orders) is not one silent line: each step of
    the cascade logs its line, naming the engine, with the rows it handled."""
    import pandas as pd

    from kit.core.config import Cleaning, InputTable
    from kit.engines.duckdb_clean import clean_transactions_duckdb

    path = tmp_path / "orders.csv"
    path.write_text("customer_id,order_id,order_date,amount\nC1,O1,2024-01-05,100\nC1,O1,2024-01-05,100\n"
                    "C2,O2,2024-02-01,abc\nC2,O3,2024-03-01,50\n", encoding="utf-8")
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    handler = Keep()
    progress.LOGGER.addHandler(handler)
    try:
        clean_transactions_duckdb(InputTable(path=str(path)), Cleaning(), pd.Timestamp("2024-12-31"))
    finally:
        progress.LOGGER.removeHandler(handler)
    names = [line.split(", ")[0] for line in lines]
    assert names == [f"clean: transactions (duckdb): {s}" for s in (
        "values parsed", "rules and refunds applied", "books and outliers", "quarantine details",
        "clean rows written")]
    assert lines[0].startswith("clean: transactions (duckdb): values parsed, 4 rows, ")
    assert ", 2 rows, " in lines[3] and ", 2 rows, " in lines[4]  # a duplicate and a bad amount; two clean
