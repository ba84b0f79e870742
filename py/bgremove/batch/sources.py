"""The images a batch is asked to do, and where each result goes.

A folder is walked recursively and its layout kept under the output folder; files and glob
patterns are taken as given. Every result is named after its image with the output format's
extension (shop/red/shoe.jpg -> OUT/red/shoe.png), so a re-run finds what an earlier run did.
"""
from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from ..formats import INPUT_EXTENSIONS


@dataclass(frozen=True)
class Job:
    source: Path
    target: Path


@dataclass
class Plan:
    jobs: list[Job]
    clashes: list[tuple[Job, Job]]  # (a later job, the earlier one whose target it would overwrite)
    ignored: int                    # files in the folders that are not images by their extension


def plan(sources: list[str], out_dir: Path, extension: str) -> Plan:
    """The jobs for `sources` (folders, files, glob patterns), in a stable order."""
    out_dir = out_dir.resolve()
    named: list[tuple[Path, Path]] = []  # (image, its name under out_dir)
    ignored = 0
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found, skipped = _walk(path.resolve(), out_dir)
            named += found
            ignored += skipped
        elif path.exists():
            named.append((path.resolve(), Path(path.name)))
        else:
            matches = sorted(glob.glob(source, recursive=True))
            if not matches:
                raise FileNotFoundError(f"{source}: no such file, folder or matching file")
            named += [(Path(m).resolve(), Path(Path(m).name)) for m in matches if Path(m).is_file()]
    jobs, clashes, seen = [], [], {}
    for image, name in dict.fromkeys(named):  # an image named twice is done once
        job = Job(image, out_dir / name.with_suffix("." + extension))
        if job.target in seen:
            clashes.append((job, seen[job.target]))
        else:
            seen[job.target] = job
            jobs.append(job)
    return Plan(jobs, clashes, ignored)


def _walk(folder: Path, out_dir: Path) -> tuple[list[tuple[Path, Path]], int]:
    found, ignored = [], 0
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue  # hidden files and folders (.DS_Store, .git) are nobody's photos
        if path.is_relative_to(out_dir):
            continue  # the results of a run whose output folder is inside its input
        if path.suffix.lower() in INPUT_EXTENSIONS:
            found.append((path, relative))
        else:
            ignored += 1
    return found, ignored
