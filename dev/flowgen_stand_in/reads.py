# mypy: disallow-untyped-calls=False
# (mongomock has no types; this package is its only user)
"""Read commands: queries run at once under the engine's lock; results leave in batches."""

from __future__ import annotations

from mongomock import aggregate as mongomock_aggregate
from mongomock.filtering import filter_applies

from flowgen_stand_in.call import Call
from flowgen_stand_in.cursors import CursorNotFound
from flowgen_stand_in.replies import CommandError, Doc, projection, sort_spec


def find(call: Call) -> Doc:
    coll = call.collection(call.cmd["find"])
    limit = int(call.cmd.get("limit", 0))
    single_batch = bool(call.cmd.get("singleBatch", False)) or limit < 0
    docs = list(
        coll.find(
            call.cmd.get("filter") or {},
            projection(call.cmd.get("projection")),
            skip=int(call.cmd.get("skip", 0)),
            limit=abs(limit),
            sort=sort_spec(call.cmd.get("sort")),
        )
    )
    return call.cursors.open(coll.full_name, docs, call.cmd.get("batchSize"), single_batch)


def get_more(call: Call) -> Doc:
    try:
        return call.cursors.get_more(int(call.cmd["getMore"]), call.cmd.get("batchSize"))
    except CursorNotFound as exc:
        raise CommandError(43, "CursorNotFound", str(exc)) from None


def kill_cursors(call: Call) -> Doc:
    return {**call.cursors.kill(list(call.cmd.get("cursors", []))), "ok": 1.0}


def aggregate(call: Call) -> Doc:
    coll = call.collection(call.cmd["aggregate"])
    pipeline: list[Doc] = list(call.cmd.get("pipeline", []))
    if any("$out" in stage or "$merge" in stage for stage in pipeline):
        raise CommandError(238, "NotImplemented", "$out and $merge are not supported by FlowGen's MongoDB stand-in")
    match: Doc = {}
    if pipeline and list(pipeline[0]) == ["$match"]:  # through find, which can use the hash indexes
        match = pipeline.pop(0)["$match"]
    docs = list(mongomock_aggregate.process_pipeline(list(coll.find(match)), coll.database, pipeline, None))
    return call.cursors.open(coll.full_name, docs, (call.cmd.get("cursor") or {}).get("batchSize"))


def count(call: Call) -> Doc:
    coll = call.collection(call.cmd["count"])
    n = sum(1 for _ in coll._iter_documents(call.cmd.get("query") or {}))
    n = max(0, n - int(call.cmd.get("skip", 0)))
    limit = abs(int(call.cmd.get("limit", 0)))
    return {"n": min(n, limit) if limit else n, "ok": 1.0}


def distinct(call: Call) -> Doc:
    coll = call.collection(call.cmd["distinct"])
    return {"values": coll.distinct(call.cmd["key"], call.cmd.get("query") or None), "ok": 1.0}


def list_indexes(call: Call) -> Doc:
    coll = call.collection(call.cmd["listIndexes"])
    if not call.engine.exists(call.db, coll.name):
        raise CommandError(26, "NamespaceNotFound", f"ns does not exist: {coll.full_name}")
    docs = list(coll.list_indexes())
    return call.cursors.open(coll.full_name, docs, (call.cmd.get("cursor") or {}).get("batchSize"))


def list_collections(call: Call) -> Doc:
    docs: list[Doc] = [
        {
            "name": name,
            "type": "collection",
            "options": {},
            "info": {"readOnly": False},
            "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"},
        }
        for name in sorted(call.engine.collection_names(call.db))
    ]
    if call.cmd.get("filter"):
        docs = [d for d in docs if filter_applies(call.cmd["filter"], d)]
    if call.cmd.get("nameOnly"):
        docs = [{"name": d["name"], "type": d["type"]} for d in docs]
    return call.cursors.open(f"{call.db}.$cmd.listCollections", docs, (call.cmd.get("cursor") or {}).get("batchSize"))


def list_databases(call: Call) -> Doc:
    names = sorted(call.engine.database_names())
    if call.cmd.get("nameOnly"):
        return {"databases": [{"name": n} for n in names], "ok": 1.0}
    return {"databases": [{"name": n, "sizeOnDisk": 0, "empty": False} for n in names], "totalSize": 0, "ok": 1.0}
