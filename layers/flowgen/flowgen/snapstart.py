"""SnapStart's runtime hooks: what a function lets go of before Lambda snapshots its initialised
environment, and builds again in each environment restored from that snapshot.

A restored environment resumes the snapshot's memory. What init imported (most of init's time,
and what SnapStart saves) is still good; what it connected is not: sockets to MongoDB, Redis, SQS
and OpenAI are dead, pymongo's monitor threads would poll through them, and `random` would draw
the same numbers in every restored environment (every one the same deferral jitter). So before
the snapshot every client wiring built is closed and forgotten, and after a restore `random` is
reseeded and the function builds its objects again through wiring's factories.

`snapshot_restore_py` comes with Lambda's Python runtimes (3.12 and later) and is not in the
layer: a copy of our own could shadow the runtime's registry. The local stack's host runs the
same hooks for a function whose template turns SnapStart on (dev/flowgen_local/lambda_host.py).
Where the module is absent nothing is ever snapshotted, so nothing is registered.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from flowgen import wiring


def rebuild_after_restore(build: Callable[[], object]) -> bool:
    """Registers the hooks: clients closed before the snapshot; `random` reseeded, then `build`
    called, after each restore. False where this runtime never snapshots."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    register_before_snapshot(wiring.close_clients)
    register_after_restore(reseed)
    register_after_restore(build)
    return True


def reseed() -> None:
    random.seed()  # from os.urandom: each restored environment draws its own numbers
