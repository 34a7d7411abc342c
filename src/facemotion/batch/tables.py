"""Where a bulk job's rows go: a CSV appended batch by batch, or a folder of Parquet parts, one part per batch.

Both only ever add whole batches and report what the manifest must record (the CSV's size, the part's name), and
both drop, when reopened, what a killed job wrote after its last manifest.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from facemotion.batch.job import BatchError
from facemotion.batch.manifest import Manifest
from facemotion.inference.rows import text_cells

__all__ = ["Column", "CsvTable", "ParquetTable", "Table", "open_table"]

Column = tuple[str, str]
"""A column name and its type: ``str``, ``int`` or ``float`` (Parquet needs one type per column in every part)."""


class CsvTable:
    """One CSV file; rows appended per batch and fsynced before the manifest names them."""

    def __init__(self, path: Path, columns: Sequence[Column], manifest: Manifest) -> None:
        self.path = path
        self.width = len(columns)
        path.parent.mkdir(parents=True, exist_ok=True)
        if manifest.committed_bytes and path.is_file():
            with path.open("r+b") as handle:  # drop rows written after the last manifest
                handle.truncate(manifest.committed_bytes)
        else:  # a new job (or one killed before its first batch): the header, recorded at once
            manifest.committed_bytes = self._write_bytes(self._encode([[name for name, _ in columns]]), mode="wb")
            manifest.save()

    @staticmethod
    def _encode(rows: Sequence[Sequence[Any]]) -> bytes:
        buffer = io.StringIO(newline="")
        csv.writer(buffer).writerows(text_cells(rows))
        return buffer.getvalue().encode()

    def _write_bytes(self, data: bytes, mode: str = "ab") -> int:
        with self.path.open(mode) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            return handle.tell()

    def append(self, rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
        """Write the rows; the keyword arguments for :meth:`Manifest.commit`."""
        _check_width(rows, self.width)
        return {"size": self._write_bytes(self._encode(rows))}


class ParquetTable:
    """A folder of ``part-NNNNNN.parquet`` files (read whole by pandas, pyarrow, Spark or Ray as one table)."""

    def __init__(self, folder: Path, columns: Sequence[Column], manifest: Manifest) -> None:
        try:
            import pyarrow as pa
        except ImportError:
            raise BatchError(f"{folder}: Parquet output needs pyarrow: pip install 'facemotion[parquet]' (or "
                             f"'facemotion[ray]'), or write CSV with --out {folder.with_suffix('.csv')}") from None
        self._pa = pa
        types = {"str": pa.string(), "int": pa.int64(), "float": pa.float64()}
        self.schema = pa.schema([(name, types[kind]) for name, kind in columns])
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        keep = set(manifest.parts)
        for stale in [*folder.glob("part-*.parquet"), *folder.glob(".part-*.tmp")]:
            if stale.name not in keep:  # written after the last manifest: its inputs will be done again
                stale.unlink()
        self._next = len(manifest.parts)

    def append(self, rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
        """Write the rows as the next part (to a temporary name, then renamed); the keyword arguments for
        :meth:`Manifest.commit`."""
        import pyarrow.parquet as pq

        _check_width(rows, len(self.schema))
        columns = [list(column) for column in zip(*text_cells(rows))] if rows else [[] for _ in self.schema]
        table = self._pa.Table.from_arrays(columns, schema=self.schema)
        name = f"part-{self._next:06d}.parquet"
        tmp = self.folder / f".{name}.tmp"
        try:
            pq.write_table(table, tmp)
            with tmp.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, self.folder / name)
        finally:
            if tmp.exists():
                tmp.unlink()
        self._next += 1
        return {"part": name}


def _check_width(rows: Sequence[Sequence[Any]], width: int) -> None:
    """Every row has a value per column: a row of another shape (a model with other labels than the columns were made
    for) would put its values under the wrong names."""
    for row in rows:
        if len(row) != width:
            raise BatchError(f"a row of {len(row)} values for a table of {width} columns (path {row[0]!r}): were "
                             f"the columns made for another model's labels?")


Table = CsvTable | ParquetTable
"""Either table: both have ``append(rows)``."""


def open_table(out: Path, columns: Sequence[Column], manifest: Manifest) -> Table:
    """The table for ``out``, by its suffix: ``.csv`` is a file, anything else a Parquet folder."""
    if out.suffix.lower() == ".csv":
        return CsvTable(out, columns, manifest)
    return ParquetTable(out, columns, manifest)
