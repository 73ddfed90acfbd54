"""`python -m flowgen_faults [--size ci|full] [--only NAME ...] [--markdown FILE]`: runs the
fault scenarios one after another on one set of services (redis-server, moto, the MongoDB
stand-in, the fake model server), prints each scenario's count line as it ends, then the table.
Exits 1 when any scenario is not ok. `make faults` runs them all at the full size. With
`--only`, `--markdown` replaces the rows of the scenarios run and keeps the others."""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from flowgen_faults.harness import CI, FULL, MARKDOWN_HEADER, Counts, Services
from flowgen_faults.scenarios import SCENARIOS
from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.lambda_pool import LambdaHost
from flowgen_local.services import AwsServer, RedisServer
from flowgen_stand_in.launcher import MongoStandIn

BEGIN, END = "<!-- faults-table -->", "<!-- /faults-table -->"


def write_table(path: Path, table: str) -> None:
    """Replaces what lies between the markers in `path`, or writes the table alone."""
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = f"{head}{BEGIN}\n{table}{END}{rest.split(END, 1)[1]}"
    else:
        text = table
    path.write_text(text)


def current_table(path: Path) -> str:
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        return text.split(BEGIN, 1)[1].split(END, 1)[0]
    return ""


def merged(old: str, rows: list[str], stamp: str) -> str:
    """The table `old` with `rows` in place of its rows of the same scenarios (the others kept,
    new scenarios at the end) and `stamp` after its own (in place of one for the same scenarios)."""
    kept: dict[str, str] = {}
    stamps: list[str] = []
    for line in old.splitlines():
        if line.startswith("| scenario |") or line.startswith("| --- |"):
            continue  # a header and its separator, of this table's columns or an earlier table's
        if line.startswith("| "):
            kept[line.split("|")[1].strip()] = line
        elif line.startswith("_"):
            stamps.append(line)
    for row in rows:
        kept[row.split("|")[1].strip()] = row
    names = stamp.rsplit(": ", 1)[-1]
    stamps = [s for s in stamps if ": " not in s or s.rsplit(": ", 1)[-1] != names]
    return f"{MARKDOWN_HEADER}\n" + "\n".join(kept.values()) + "\n\n" + "\n".join([*stamps, stamp]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flowgen_faults", description=__doc__)
    parser.add_argument("--size", choices=["ci", "full"], default="full")
    parser.add_argument("--only", nargs="*", default=[], metavar="NAME", help=f"some of: {', '.join(SCENARIOS)}")
    parser.add_argument(
        "--markdown",
        type=Path,
        help="also write the table as markdown to this file (between its faults-table markers, if it has them)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        parser.error(f"no scenario named {sorted(unknown)}")
    size = FULL if args.size == "full" else CI
    chosen = args.only or list(SCENARIOS)

    started = time.monotonic()
    redis_server, aws, mongo, host = RedisServer(), AwsServer(), MongoStandIn().start(), LambdaHost()
    fake = FakeOpenAI().start()
    services = Services(redis_server.url, aws, str(mongo.uri), host, fake)
    results: list[Counts] = []
    try:
        print(Counts.HEADER, flush=True)
        for name in chosen:
            try:
                counts = SCENARIOS[name](services, size)
            except Exception as exc:
                counts = Counts(name, problems=[f"{type(exc).__name__}: {exc}"])
                traceback.print_exc()
            results.append(counts)
            print(counts.line(), flush=True)
            for note in counts.notes:
                print(f"    {note}", flush=True)
            for problem in counts.problems:
                print(f"    PROBLEM: {problem}", flush=True)
    finally:
        fake.stop()
        host.stop()
        mongo.stop()
        aws.stop()
        redis_server.stop()
    elapsed = time.monotonic() - started
    print(f"\n{Counts.HEADER}\n" + "\n".join(c.line() for c in results))
    print(f"{sum(c.ok for c in results)} of {len(results)} scenarios ok, size {args.size}, {elapsed:.0f}s")
    if args.markdown:
        rows = [c.markdown_row() for c in results]
        stamp = f"_{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, size {args.size}, {elapsed:.0f} s"
        if args.only:
            table = merged(current_table(args.markdown), rows, f"{stamp}: {', '.join(chosen)}_")
        else:
            table = f"{MARKDOWN_HEADER}\n" + "\n".join(rows) + f"\n\n{stamp}_\n"
        write_table(args.markdown, table)
    return 0 if all(c.ok for c in results) else 1


if __name__ == "__main__":
    sys.exit(main())
