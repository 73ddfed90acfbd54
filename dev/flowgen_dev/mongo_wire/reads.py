"""Read commands: queries run at once under the engine's lock; results leave in batches."""

from __future__ import annotations

from mongomock import aggregate as mongomock_aggregate
from mongomock.filtering import filter_applies

from flowgen_dev.mongo_wire.cursors import CursorNotFound, Cursors
from flowgen_dev.mongo_wire.engine import Engine
from flowgen_dev.mongo_wire.replies import CommandError, Doc, projection, sort_spec


def find(engine: Engine, cursors: Cursors, db: str, cmd: Doc) -> Doc:
    coll = engine.collection(db, cmd["find"])
    limit = int(cmd.get("limit", 0))
    single_batch = bool(cmd.get("singleBatch", False)) or limit < 0
    docs = list(
        coll.find(
            cmd.get("filter") or {},
            projection(cmd.get("projection")),
            skip=int(cmd.get("skip", 0)),
            limit=abs(limit),
            sort=sort_spec(cmd.get("sort")),
        )
    )
    return cursors.open(coll.full_name, docs, cmd.get("batchSize"), single_batch)


def get_more(engine: Engine, cursors: Cursors, db: str, cmd: Doc) -> Doc:
    try:
        return cursors.get_more(int(cmd["getMore"]), cmd.get("batchSize"))
    except CursorNotFound as exc:
        raise CommandError(43, "CursorNotFound", str(exc)) from None


def kill_cursors(engine: Engine, cursors: Cursors, db: str, cmd: Doc) -> Doc:
    return {**cursors.kill(list(cmd.get("cursors", []))), "ok": 1.0}


def aggregate(engine: Engine, cursors: Cursors, db: str, cmd: Doc) -> Doc:
    coll = engine.collection(db, cmd["aggregate"])
    pipeline: list[Doc] = list(cmd.get("pipeline", []))
    if any("$out" in stage or "$merge" in stage for stage in pipeline):
        raise CommandError(238, "NotImplemented", "$out and $merge are not supported by FlowGen's MongoDB stand-in")
    match: Doc = {}
    if pipeline and list(pipeline[0]) == ["$match"]:  # through find: it can use the _id lookup
        match = pipeline.pop(0)["$match"]
    docs = list(mongomock_aggregate.process_pipeline(list(coll.find(match)), coll.database, pipeline, None))
    return cursors.open(coll.full_name, docs, (cmd.get("cursor") or {}).get("batchSize"))


def count(engine: Engine, cursors: Cursors, db: str, cmd: Doc) -> Doc:
    coll = engine.collection(db, cmd["count"])
    n = sum(1 for _ in coll._iter_documents(cmd.get("query") or {}))
    n = max(0, n - int(cmd.get("skip", 0)))
    limit = abs(int(cmd.get("limit", 0)))
    return {"n": min(n, limit) if limit else n, "ok": 1.0}


def distinct(engine: Engine, cursors: Cursors, db: str, cmd: Doc) -> Doc:
    coll = engine.collection(db, cmd["distinct"])
    return {"values": coll.distinct(cmd["key"], cmd.get("query") or None), "ok": 1.0}


def list_indexes(engine: Engine, cursors: Cursors, db: str, cmd: Doc) -> Doc:
    coll = engine.collection(db, cmd["listIndexes"])
    if not engine.exists(db, coll.name):
        raise CommandError(26, "NamespaceNotFound", f"ns does not exist: {coll.full_name}")
    docs = list(coll.list_indexes())
    return cursors.open(coll.full_name, docs, (cmd.get("cursor") or {}).get("batchSize"))


def list_collections(engine: Engine, cursors: Cursors, db: str, cmd: Doc) -> Doc:
    docs: list[Doc] = [
        {
            "name": name,
            "type": "collection",
            "options": {},
            "info": {"readOnly": False},
            "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"},
        }
        for name in sorted(engine.collection_names(db))
    ]
    if cmd.get("filter"):
        docs = [d for d in docs if filter_applies(cmd["filter"], d)]
    if cmd.get("nameOnly"):
        docs = [{"name": d["name"], "type": d["type"]} for d in docs]
    return cursors.open(f"{db}.$cmd.listCollections", docs, (cmd.get("cursor") or {}).get("batchSize"))


def list_databases(engine: Engine, cursors: Cursors, db: str, cmd: Doc) -> Doc:
    names = sorted(engine.database_names())
    if cmd.get("nameOnly"):
        return {"databases": [{"name": n} for n in names], "ok": 1.0}
    return {"databases": [{"name": n, "sizeOnDisk": 0, "empty": False} for n in names], "totalSize": 0, "ok": 1.0}
