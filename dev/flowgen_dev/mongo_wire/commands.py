"""The commands pymongo sends, answered from the engine in MongoDB's reply shapes.

Every data command runs under the engine's lock, and its changes reach the journal before
the reply is sent. Write errors (a duplicate key among them) are reported per statement in
`writeErrors`, as MongoDB does, so pymongo raises DuplicateKeyError or BulkWriteError.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mongomock import aggregate as mongomock_aggregate
from mongomock import helpers
from mongomock.filtering import filter_applies
from pymongo.errors import DuplicateKeyError, InvalidName, OperationFailure, PyMongoError

from flowgen_dev.mongo_wire.cursors import CursorNotFound, Cursors
from flowgen_dev.mongo_wire.engine import SERVER_VERSION, Engine, TrackedCollection
from flowgen_dev.mongo_wire.journal import Journal

log = logging.getLogger(__name__)

Doc = dict[str, Any]
MAX_WIRE_VERSION = 21  # MongoDB 7.0; pymongo 4.20 accepts 9 to 29
_INDEX_OPTIONS = ("unique", "sparse", "expireAfterSeconds", "partialFilterExpression")


class CommandError(Exception):
    def __init__(self, code: int, code_name: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.code_name = code_name


def error_reply(code: int, code_name: str, message: str, **details: Any) -> Doc:
    return {"ok": 0.0, "errmsg": message, "code": code, "codeName": code_name, **details}


class Commands:
    def __init__(self, engine: Engine, journal: Journal | None = None) -> None:
        self.engine = engine
        self.journal = journal
        self.cursors = Cursors()

    def run(self, db: str, cmd: Doc) -> Doc:
        name = next(iter(cmd), "")
        stateless = _STATELESS.get(name)
        if stateless is not None:
            return stateless(cmd)
        handler = _HANDLERS.get(name)
        if handler is None:
            return error_reply(59, "CommandNotFound", f"no such command: '{name}' (FlowGen's MongoDB stand-in)")
        try:
            with self.engine.lock:
                try:
                    return handler(self, db, cmd)
                finally:
                    changes = self.engine.take_changes()
                    if changes and self.journal:
                        self.journal.append(changes, self.engine)
        except Exception as exc:  # every failure is an answer, never a dropped connection
            return _failure_reply(name, exc)

    def collection(self, db: str, name: Any) -> TrackedCollection:
        if not isinstance(name, str):
            raise CommandError(73, "InvalidNamespace", f"collection name has invalid type {type(name).__name__}")
        return self.engine.collection(db, name)


def _failure_reply(command: str, exc: Exception) -> Doc:
    if isinstance(exc, CommandError):
        return error_reply(exc.code, exc.code_name, str(exc))
    if isinstance(exc, DuplicateKeyError):
        return error_reply(11000, "DuplicateKey", _message(exc), **_key_details(exc))
    if isinstance(exc, OperationFailure):
        return error_reply(exc.code or 2, "OperationFailed", _message(exc))
    if isinstance(exc, InvalidName):
        return error_reply(73, "InvalidNamespace", str(exc))
    if isinstance(exc, NotImplementedError):
        return error_reply(238, "NotImplemented", f"{command}: {exc} (FlowGen's MongoDB stand-in)")
    if isinstance(exc, ValueError | TypeError | KeyError | PyMongoError):
        return error_reply(2, "BadValue", f"{command}: {exc}")
    log.exception("command %s failed", command)
    return error_reply(1, "InternalError", f"{command}: {type(exc).__name__}: {exc}")


def _message(exc: Exception) -> str:
    # str() of pymongo's errors appends ", full error: {details}"
    return str(exc.args[0]) if exc.args else str(exc)


def _key_details(exc: PyMongoError) -> Doc:
    details = getattr(exc, "details", None) or {}
    return {k: details[k] for k in ("keyPattern", "keyValue") if k in details}


def _write_error(index: int, exc: Exception) -> Doc:
    if isinstance(exc, DuplicateKeyError):
        return {"index": index, "code": 11000, "errmsg": _message(exc), **_key_details(exc)}
    reply = _failure_reply("write", exc)
    return {"index": index, "code": reply["code"], "errmsg": reply["errmsg"]}


def _write_reply(n: int, errors: list[Doc], **extra: Any) -> Doc:
    reply: Doc = {"n": n, **extra, "ok": 1.0}
    if errors:
        reply["writeErrors"] = errors
    return reply


def _sort(spec: Any) -> list[tuple[str, Any]] | None:
    return list(spec.items()) if spec else None


def _projection(spec: Any) -> Doc | None:
    return spec or None


def _is_operator_update(update: Any) -> bool:
    return isinstance(update, list) or (isinstance(update, dict) and any(k.startswith("$") for k in update))


# ---- handshake and admin ------------------------------------------------------------


def _hello(cmd: Doc) -> Doc:
    primary = "isWritablePrimary" if next(iter(cmd)) == "hello" else "ismaster"
    return {
        "helloOk": True,
        primary: True,
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "maxMessageSizeBytes": 48_000_000,
        "maxWriteBatchSize": 100_000,
        "localTime": datetime.now(UTC),
        "minWireVersion": 0,
        "maxWireVersion": MAX_WIRE_VERSION,
        "readOnly": False,
        "ok": 1.0,
    }


def _build_info(cmd: Doc) -> Doc:
    return {
        "version": SERVER_VERSION,
        "versionArray": [int(p) for p in SERVER_VERSION.split(".")] + [0],
        "gitVersion": "flowgen-mongo-stand-in",
        "bits": 64,
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "ok": 1.0,
    }


def _ok(cmd: Doc) -> Doc:
    return {"ok": 1.0}


_STATELESS: dict[str, Callable[[Doc], Doc]] = {
    "hello": _hello,
    "isMaster": _hello,
    "ismaster": _hello,
    "buildInfo": _build_info,
    "buildinfo": _build_info,
    "ping": _ok,
    "endSessions": _ok,
}


# ---- reads --------------------------------------------------------------------------


def _find(ctx: Commands, db: str, cmd: Doc) -> Doc:
    coll = ctx.collection(db, cmd["find"])
    limit = int(cmd.get("limit", 0))
    single_batch = bool(cmd.get("singleBatch", False)) or limit < 0
    docs = list(
        coll.find(
            cmd.get("filter") or {},
            _projection(cmd.get("projection")),
            skip=int(cmd.get("skip", 0)),
            limit=abs(limit),
            sort=_sort(cmd.get("sort")),
        )
    )
    return ctx.cursors.open(coll.full_name, docs, cmd.get("batchSize"), single_batch)


def _get_more(ctx: Commands, db: str, cmd: Doc) -> Doc:
    try:
        return ctx.cursors.get_more(int(cmd["getMore"]), cmd.get("batchSize"))
    except CursorNotFound as exc:
        raise CommandError(43, "CursorNotFound", str(exc)) from None


def _kill_cursors(ctx: Commands, db: str, cmd: Doc) -> Doc:
    return {**ctx.cursors.kill(list(cmd.get("cursors", []))), "ok": 1.0}


def _aggregate(ctx: Commands, db: str, cmd: Doc) -> Doc:
    coll = ctx.collection(db, cmd["aggregate"])
    pipeline: list[Doc] = list(cmd.get("pipeline", []))
    if any("$out" in stage or "$merge" in stage for stage in pipeline):
        raise CommandError(238, "NotImplemented", "$out and $merge are not supported by FlowGen's MongoDB stand-in")
    match: Doc = {}
    if pipeline and list(pipeline[0]) == ["$match"]:  # through find: it can use the _id lookup
        match = pipeline.pop(0)["$match"]
    docs = list(mongomock_aggregate.process_pipeline(list(coll.find(match)), coll.database, pipeline, None))
    return ctx.cursors.open(coll.full_name, docs, (cmd.get("cursor") or {}).get("batchSize"))


def _count(ctx: Commands, db: str, cmd: Doc) -> Doc:
    coll = ctx.collection(db, cmd["count"])
    n = sum(1 for _ in coll._iter_documents(cmd.get("query") or {}))
    n = max(0, n - int(cmd.get("skip", 0)))
    limit = abs(int(cmd.get("limit", 0)))
    return {"n": min(n, limit) if limit else n, "ok": 1.0}


def _distinct(ctx: Commands, db: str, cmd: Doc) -> Doc:
    coll = ctx.collection(db, cmd["distinct"])
    return {"values": coll.distinct(cmd["key"], cmd.get("query") or None), "ok": 1.0}


# ---- writes -------------------------------------------------------------------------


def _insert(ctx: Commands, db: str, cmd: Doc) -> Doc:
    coll = ctx.collection(db, cmd["insert"])
    ordered = cmd.get("ordered", True)
    inserted, errors = 0, []
    for index, doc in enumerate(cmd.get("documents", [])):
        try:
            coll.insert_one(doc)
            inserted += 1
        except Exception as exc:
            errors.append(_write_error(index, exc))
            if ordered:
                break
    return _write_reply(inserted, errors)


def _update(ctx: Commands, db: str, cmd: Doc) -> Doc:
    coll = ctx.collection(db, cmd["update"])
    ordered = cmd.get("ordered", True)
    matched, modified, upserted, errors = 0, 0, [], []
    for index, statement in enumerate(cmd.get("updates", [])):
        try:
            multi = bool(statement.get("multi", False))
            if multi and not _is_operator_update(statement["u"]):
                raise CommandError(9, "FailedToParse", "multi update is not supported for replacement-style update")
            result = coll._update(
                statement.get("q") or {},
                statement["u"],
                upsert=bool(statement.get("upsert", False)),
                multi=multi,
                array_filters=statement.get("arrayFilters"),
            )
        except Exception as exc:
            errors.append(_write_error(index, exc))
            if ordered:
                break
            continue
        matched += result["n"]
        modified += result["nModified"]
        if result["upserted"] is not None:
            upserted.append({"index": index, "_id": result["upserted"]})
    extra: Doc = {"nModified": modified}
    if upserted:
        extra["upserted"] = upserted
    return _write_reply(matched, errors, **extra)


def _delete(ctx: Commands, db: str, cmd: Doc) -> Doc:
    coll = ctx.collection(db, cmd["delete"])
    ordered = cmd.get("ordered", True)
    deleted, errors = 0, []
    for index, statement in enumerate(cmd.get("deletes", [])):
        try:
            deleted += coll._delete(statement.get("q") or {}, multi=int(statement.get("limit", 0)) == 0)["n"]
        except Exception as exc:
            errors.append(_write_error(index, exc))
            if ordered:
                break
    return _write_reply(deleted, errors)


def _find_and_modify(ctx: Commands, db: str, cmd: Doc) -> Doc:
    coll = ctx.collection(db, cmd.get("findAndModify", cmd.get("findandmodify")))
    query: Doc = cmd.get("query") or {}
    fields = _projection(cmd.get("fields"))
    update, remove = cmd.get("update"), bool(cmd.get("remove", False))
    new, upsert = bool(cmd.get("new", False)), bool(cmd.get("upsert", False))
    if remove == (update is not None):
        raise CommandError(9, "FailedToParse", "Either an update or remove=true must be specified")
    if remove and (new or upsert):
        raise CommandError(9, "FailedToParse", "Cannot specify both new=true or upsert=true and remove=true")
    array_filters = cmd.get("arrayFilters")
    target = next(iter(coll.find(query, {"_id": 1}, sort=_sort(cmd.get("sort")), limit=1)), None)
    if target is None:
        if not upsert:
            return {"lastErrorObject": {"n": 0, "updatedExisting": False}, "value": None, "ok": 1.0}
        doc_id = coll._update(query, update, upsert=True, array_filters=array_filters)["upserted"]
        value = coll.find_one({"_id": doc_id}, fields) if new else None
        return {"lastErrorObject": {"n": 1, "updatedExisting": False, "upserted": doc_id}, "value": value, "ok": 1.0}
    # the query with its _id pinned: one document, and the positional operator still has its match
    this_one = {**query, "_id": target["_id"]}
    before = coll.find_one(this_one, fields)
    if remove:
        coll._delete(this_one)
        value = before
    else:
        coll._update(this_one, update, array_filters=array_filters)
        value = coll.find_one({"_id": target["_id"]}, fields) if new else before
    return {"lastErrorObject": {"n": 1, "updatedExisting": not remove}, "value": value, "ok": 1.0}


# ---- collections and indexes --------------------------------------------------------


def _create(ctx: Commands, db: str, cmd: Doc) -> Doc:
    coll = ctx.collection(db, cmd["create"])
    if ctx.engine.exists(db, coll.name):
        raise CommandError(48, "NamespaceExists", f"Collection {coll.full_name} already exists.")
    ctx.engine.create_collection(db, coll.name)
    return {"ok": 1.0}


def _create_indexes(ctx: Commands, db: str, cmd: Doc) -> Doc:
    coll = ctx.collection(db, cmd["createIndexes"])
    existed = ctx.engine.exists(db, coll.name)
    before = len(coll.store.indexes) + 1
    for spec in cmd.get("indexes", []):
        if spec.get("name") == "_id_":
            continue
        options = {k: spec[k] for k in _INDEX_OPTIONS if k in spec}
        coll.create_index(list(spec["key"].items()), name=spec.get("name"), **options)
    ctx.engine.indexes_changed(db, coll.name)
    return {
        "createdCollectionAutomatically": not existed,
        "numIndexesBefore": before,
        "numIndexesAfter": len(coll.store.indexes) + 1,
        "ok": 1.0,
    }


def _list_indexes(ctx: Commands, db: str, cmd: Doc) -> Doc:
    coll = ctx.collection(db, cmd["listIndexes"])
    if not ctx.engine.exists(db, coll.name):
        raise CommandError(26, "NamespaceNotFound", f"ns does not exist: {coll.full_name}")
    docs = list(coll.list_indexes())
    return ctx.cursors.open(coll.full_name, docs, (cmd.get("cursor") or {}).get("batchSize"))


def _drop_indexes(ctx: Commands, db: str, cmd: Doc) -> Doc:
    coll = ctx.collection(db, cmd["dropIndexes"])
    was = len(coll.store.indexes) + 1
    wanted = cmd.get("index")
    names = list(coll.store.indexes) if wanted == "*" else wanted if isinstance(wanted, list) else [wanted]
    for name in names:
        key = helpers.gen_index_name(list(name.items())) if isinstance(name, dict) else name
        if key not in coll.store.indexes:
            raise CommandError(27, "IndexNotFound", f"index not found with name [{key}]")
        coll.store.drop_index(key)
    ctx.engine.indexes_changed(db, coll.name)
    return {"nIndexesWas": was, "ok": 1.0}


def _list_collections(ctx: Commands, db: str, cmd: Doc) -> Doc:
    docs: list[Doc] = [
        {
            "name": name,
            "type": "collection",
            "options": {},
            "info": {"readOnly": False},
            "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"},
        }
        for name in sorted(ctx.engine.collection_names(db))
    ]
    if cmd.get("filter"):
        docs = [d for d in docs if filter_applies(cmd["filter"], d)]
    if cmd.get("nameOnly"):
        docs = [{"name": d["name"], "type": d["type"]} for d in docs]
    return ctx.cursors.open(f"{db}.$cmd.listCollections", docs, (cmd.get("cursor") or {}).get("batchSize"))


def _list_databases(ctx: Commands, db: str, cmd: Doc) -> Doc:
    names = sorted(ctx.engine.database_names())
    if cmd.get("nameOnly"):
        return {"databases": [{"name": n} for n in names], "ok": 1.0}
    return {"databases": [{"name": n, "sizeOnDisk": 0, "empty": False} for n in names], "totalSize": 0, "ok": 1.0}


def _drop(ctx: Commands, db: str, cmd: Doc) -> Doc:
    coll = ctx.collection(db, cmd["drop"])
    return {"ns": coll.full_name, "nIndexesWas": ctx.engine.drop_collection(db, coll.name), "ok": 1.0}


def _drop_database(ctx: Commands, db: str, cmd: Doc) -> Doc:
    ctx.engine.drop_database(db)
    return {"dropped": db, "ok": 1.0}


_HANDLERS: dict[str, Callable[[Commands, str, Doc], Doc]] = {
    "find": _find,
    "getMore": _get_more,
    "killCursors": _kill_cursors,
    "aggregate": _aggregate,
    "count": _count,
    "distinct": _distinct,
    "insert": _insert,
    "update": _update,
    "delete": _delete,
    "findAndModify": _find_and_modify,
    "findandmodify": _find_and_modify,
    "create": _create,
    "createIndexes": _create_indexes,
    "listIndexes": _list_indexes,
    "dropIndexes": _drop_indexes,
    "listCollections": _list_collections,
    "listDatabases": _list_databases,
    "drop": _drop,
    "dropDatabase": _drop_database,
}
