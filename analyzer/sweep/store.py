"""Where rows go: a journal while the sweep runs, then CSV or Parquet (by the output's suffix).

Rows are appended to ``OUTPUT.journal.jsonl`` as tasks finish, so a sweep
that is stopped (Ctrl-C, a crashed machine) keeps what it computed; the
final file is written from the earlier output, the journal and nothing else,
and the journal is removed. A resumed sweep reads both and skips the keys it
finds. Parquet needs pyarrow (``analyzer[parquet]``).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from analyzer.core.errors import UsageError

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
# columns read back from CSV as text even where they look like numbers (a key of hex digits only)
TEXT_COLUMNS = frozenset({"key", "config_id", "model", "spec", "device", "hardware_model", "bound", "error",
                          "analyzer_version"})  # fmt: skip


def output_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(f"--output {path}: the suffix chooses the format: .csv or .parquet")
    if fmt == "parquet":
        _pyarrow()
    return fmt


def journal_path(path: Path) -> Path:
    return path.with_name(path.name + ".journal.jsonl")


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of an earlier run: the output file and the journal of a run that did not finish."""
    rows: list[dict[str, Any]] = []
    if path.exists():
        try:
            rows = _read_parquet(path) if output_format(path) == "parquet" else _read_csv(path)
        except UsageError:
            raise
        except Exception as e:
            raise UsageError(f"{path}: cannot read the earlier results to resume ({type(e).__name__}: {e})") from None
        if rows and "key" not in rows[0]:
            raise UsageError(f"{path}: not a sweep output (no 'key' column); choose another --output")
    journal = journal_path(path)
    if journal.exists():
        for line in journal.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short when the run stopped: its task runs again
    return rows


class Journal:
    """Append-only JSON lines, flushed per task."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("a")

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self._file.write(json.dumps(row, default=str) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write every row to ``path`` (a temporary file renamed into place), then drop the journal."""
    columns = _columns(rows)
    tmp = path.with_name(path.name + ".tmp")
    if output_format(path) == "parquet":
        pa, pq = _pyarrow()
        table = pa.Table.from_pylist([{c: _plain(r.get(c)) for c in columns} for r in rows])
        pq.write_table(table, tmp)
    else:
        with tmp.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({c: _csv_value(row.get(c)) for c in columns})
    tmp.replace(path)
    journal_path(path).unlink(missing_ok=True)


def uniform(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row with every column (None where a row has no value), columns in first-seen order."""
    columns = _columns(rows)
    return [{c: row.get(c) for c in columns} for row in rows]


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key)
    return list(seen)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _csv_value(value: Any) -> Any:
    return "" if value is None else value


def _read_csv(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="") as f:
        return [{k: (v or None) if k in TEXT_COLUMNS else _parse(v) for k, v in row.items()}
                for row in csv.DictReader(f)]  # fmt: skip


def _parse(text: str | None) -> Any:
    """A CSV cell back to None, bool, int or float where it reads as one (keys and names stay text)."""
    if text is None or text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    _pa, pq = _pyarrow()
    return pq.read_table(path).to_pylist()


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError("Parquet output needs pyarrow: pip install 'analyzer[parquet]' (or write .csv)") from None
    return pa, pq
