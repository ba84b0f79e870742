"""What happened to each file of a batch, as JSON or CSV (by the report's file name)."""
from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import asdict, dataclass, fields
from pathlib import Path

DONE = "done"        # cut out and written
EXISTS = "exists"    # a complete result from an earlier run was kept
FAILED = "failed"    # see code and message; the other files went on


@dataclass
class Row:
    source: str
    target: str
    status: str
    code: str | None = None
    message: str | None = None
    seconds: float | None = None   # in the worker, reading the file to writing its result
    model: str | None = None
    device: str | None = None
    width: int | None = None
    height: int | None = None


def summary(rows: list[Row], seconds: float, ignored: int) -> dict:
    counts = Counter(row.status for row in rows)
    return {"files": len(rows), **{status: counts[status] for status in (DONE, EXISTS, FAILED)},
            "ignored": ignored, "seconds": round(seconds, 3),
            "images_per_second": round(counts[DONE] / seconds, 3) if seconds > 0 else None}


def write(path: Path, rows: list[Row], totals: dict) -> None:
    """rows in the order of their files; CSV for a .csv name, else JSON with the totals."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = sorted(rows, key=lambda row: row.source)
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="") as file:
            writer = csv.DictWriter(file, [f.name for f in fields(Row)])
            writer.writeheader()
            writer.writerows(asdict(row) for row in rows)
    else:
        path.write_text(json.dumps({"summary": totals, "files": [asdict(row) for row in rows]}, indent=1) + "\n")
