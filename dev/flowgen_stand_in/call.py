"""One command as its handler sees it: what it runs against, and what it says."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowgen_stand_in.cursors import Cursors
from flowgen_stand_in.engine import Engine, TrackedCollection

Doc = dict[str, Any]


@dataclass(frozen=True)
class Call:
    engine: Engine
    cursors: Cursors
    db: str
    cmd: Doc

    def collection(self, name: Any) -> TrackedCollection:
        return self.engine.collection(self.db, name)
