"""Repairs a damaged data directory of the stand-in: every record that checks out is kept.

    python -m flowgen_stand_in repair DATA_DIR
    flowgen repair-journal [--data-dir DIR]      (DIR: the stack's data directory, .flowgen/data)

The stand-in refuses to start on a damaged journal or snapshot (`JournalDamaged` names the file
and the byte offset) and changes nothing. This command, run while the stand-in is stopped (it
takes the directory's lock), reads each file frame by frame; at damage it skips to the next
frame whose marker and checksum check out, so one bad frame costs that frame's records (one
command's changes) and nothing after it. Each file it rewrites is first copied to
`<name>.bak-<time>` next to it; a sound file is left alone. Files from before frames (bare BSON
records) are read record by record, resynchronising on the next record that decodes, and
written in frames.

Replaying after-images makes the kept records consistent document by document: a document the
dropped command wrote and no later command wrote again keeps its earlier state.
"""

from __future__ import annotations

import argparse
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bson

from flowgen_stand_in import frames
from flowgen_stand_in.journal import JOURNAL, SNAPSHOT, DataDirInUse, check_snapshot_end, lock_data_dir

ROOT = Path(__file__).resolve().parents[2]
STACK_DATA_DIR = Path(os.environ.get("FLOWGEN_STATE_DIR") or ROOT / ".flowgen") / "data"  # as flowgen_local's


@dataclass
class FileRepair:
    path: Path
    records: int  # kept
    dropped: list[frames.Gap] = field(default_factory=list)
    backup: Path | None = None  # None: the file was sound and left alone
    note: str | None = None

    def describe(self) -> str:
        if self.backup is None:
            return f"{self.path}: sound ({self.records} records), left alone"
        lines = [f"{self.path}: kept {self.records} records; the damaged file is in {self.backup}"]
        lines += [f"  dropped {g.length} bytes at byte {g.offset}: {g.reason}" for g in self.dropped]
        if self.note:
            lines.append(f"  {self.note}")
        return "\n".join(lines)


def repair(data_dir: Path) -> list[FileRepair]:
    """Repairs the snapshot and the journal in `data_dir`; raises DataDirInUse while a stand-in runs."""
    lock = lock_data_dir(data_dir)
    try:
        stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
        return [
            _repair_file(data_dir / SNAPSHOT, frames.SNAPSHOT_HEADER, stamp, snapshot=True),
            _repair_file(data_dir / JOURNAL, frames.HEADER, stamp, snapshot=False),
        ]
    finally:
        os.close(lock)


def _repair_file(path: Path, header: bytes, stamp: str, *, snapshot: bool) -> FileRepair:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return FileRepair(path, 0)
    scan = frames.read(data, header, resync=True)
    legacy = scan.legacy
    kept = [r for r in scan.records if r["op"] != "end"]
    problem = check_snapshot_end(scan) if snapshot and not legacy and scan.frames else None
    if not scan.gaps and not problem:
        return FileRepair(path, len(kept))
    backup = path.with_name(f"{path.name}.bak-{stamp}")
    shutil.copy2(path, backup)
    _fsync(backup)
    if snapshot:
        body = b"".join(_snapshot_bytes(kept))
    elif legacy:
        body = header + b"".join(frames.encode([r]) for r in kept)
    else:
        body = header + b"".join(data[f.offset : f.end] for f in scan.frames)
    _write_atomically(path, body)
    note = "rewritten in frames (it was written before them)" if legacy else problem
    return FileRepair(path, len(kept), scan.gaps, backup, note)


def _snapshot_bytes(records: list[dict[str, Any]]) -> list[bytes]:
    return [
        frames.SNAPSHOT_HEADER,
        frames.frame(b"".join(bson.encode(r) for r in [*records, {"op": "end", "records": len(records)}])),
    ]


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".repair")
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    _fsync(path.parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def resolve(data_dir: Path) -> Path:
    """The stand-in's own directory, given it or the stack's data directory (which holds mongo/)."""
    if not any((data_dir / name).exists() for name in (JOURNAL, SNAPSHOT)) and (data_dir / "mongo").is_dir():
        return data_dir / "mongo"
    return data_dir


def run(data_dir: Path) -> int:
    """Repairs `data_dir` (or its mongo/) and prints what it did; the exit status."""
    target = resolve(data_dir)
    if not any((target / name).exists() for name in (JOURNAL, SNAPSHOT)):
        print(f"no stand-in journal or snapshot in {data_dir}")
        return 1
    try:
        repaired = repair(target)
    except DataDirInUse as exc:
        print(f"{exc}: stop it first")
        return 1
    for file in repaired:
        print(file.describe())
    if any(f.backup for f in repaired):
        print("repaired: the stand-in starts from what was kept")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flowgen_stand_in repair", description=__doc__)
    parser.add_argument("data_dir", type=Path, help="the stand-in's --data-dir (or the stack's data directory)")
    return run(parser.parse_args(argv).data_dir)


def register(sub: Any) -> None:
    """`flowgen repair-journal`: a plugin of `flowgen_ops.cli` (pyproject's flowgen.commands)."""
    command = sub.add_parser(
        "repair-journal",
        help="keep every intact record of the local MongoDB stand-in's damaged journal (backs it up first)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument(
        "--data-dir",
        type=Path,
        default=STACK_DATA_DIR,
        help=f"the local stack's data directory, or the stand-in's own (default: {STACK_DATA_DIR})",
    )
    command.set_defaults(run=lambda args: run(args.data_dir))
