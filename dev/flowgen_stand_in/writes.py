# mypy: disallow-untyped-calls=False
# (mongomock has no types; this package is its only user)
"""Write commands, and the commands that create or drop collections and indexes.

Each statement is applied and reported on its own, as MongoDB does: `ordered` stops at the
first error, unordered goes on. findAndModify finds its document and updates it by `_id`
(with the rest of the query kept, for the positional operator) in one step under the lock.
"""

from __future__ import annotations

from typing import Any

from mongomock import helpers

from flowgen_stand_in.call import Call
from flowgen_stand_in.replies import (
    CommandError,
    Doc,
    is_operator_update,
    projection,
    sort_spec,
    write_error,
    write_reply,
)

_INDEX_OPTIONS = ("unique", "sparse", "expireAfterSeconds", "partialFilterExpression")


def insert(call: Call) -> Doc:
    coll = call.collection(call.cmd["insert"])
    ordered = call.cmd.get("ordered", True)
    inserted, errors = 0, []
    for index, doc in enumerate(call.cmd.get("documents", [])):
        try:
            coll.insert_one(doc)
            inserted += 1
        except Exception as exc:
            errors.append(write_error(index, exc))
            if ordered:
                break
    return write_reply(inserted, errors)


def update(call: Call) -> Doc:
    coll = call.collection(call.cmd["update"])
    ordered = call.cmd.get("ordered", True)
    matched, modified, upserted, errors = 0, 0, [], []
    for index, statement in enumerate(call.cmd.get("updates", [])):
        try:
            multi = bool(statement.get("multi", False))
            if multi and not is_operator_update(statement["u"]):
                raise CommandError(9, "FailedToParse", "multi update is not supported for replacement-style update")
            result = coll._update(
                statement.get("q") or {},
                statement["u"],
                upsert=bool(statement.get("upsert", False)),
                multi=multi,
                array_filters=statement.get("arrayFilters"),
            )
        except Exception as exc:
            errors.append(write_error(index, exc))
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
    return write_reply(matched, errors, **extra)


def delete(call: Call) -> Doc:
    coll = call.collection(call.cmd["delete"])
    ordered = call.cmd.get("ordered", True)
    deleted, errors = 0, []
    for index, statement in enumerate(call.cmd.get("deletes", [])):
        try:
            deleted += coll._delete(statement.get("q") or {}, multi=int(statement.get("limit", 0)) == 0)["n"]
        except Exception as exc:
            errors.append(write_error(index, exc))
            if ordered:
                break
    return write_reply(deleted, errors)


def find_and_modify(call: Call) -> Doc:
    cmd = call.cmd
    coll = call.collection(cmd.get("findAndModify", cmd.get("findandmodify")))
    query: Doc = cmd.get("query") or {}
    fields = projection(cmd.get("fields"))
    update, remove = _modification(cmd)
    target = next(iter(coll.find(query, {"_id": 1}, sort=sort_spec(cmd.get("sort")), limit=1)), None)
    if target is None and cmd.get("upsert"):
        doc_id = coll._update(query, update, upsert=True, array_filters=cmd.get("arrayFilters"))["upserted"]
        value = coll.find_one({"_id": doc_id}, fields) if cmd.get("new") else None
        return _modified({"n": 1, "updatedExisting": False, "upserted": doc_id}, value)
    if target is None:
        return _modified({"n": 0, "updatedExisting": False}, None)
    # the query with its _id pinned: one document, and the positional operator still has its match
    this_one = {**query, "_id": target["_id"]}
    before = coll.find_one(this_one, fields)
    if remove:
        coll._delete(this_one)
        return _modified({"n": 1, "updatedExisting": False}, before)
    coll._update(this_one, update, array_filters=cmd.get("arrayFilters"))
    value = coll.find_one({"_id": target["_id"]}, fields) if cmd.get("new") else before  # it may no longer match
    return _modified({"n": 1, "updatedExisting": True}, value)


def _modification(cmd: Doc) -> tuple[Any, bool]:
    update, remove = cmd.get("update"), bool(cmd.get("remove", False))
    if remove == (update is not None):
        raise CommandError(9, "FailedToParse", "Either an update or remove=true must be specified")
    if remove and (cmd.get("new") or cmd.get("upsert")):
        raise CommandError(9, "FailedToParse", "Cannot specify both new=true or upsert=true and remove=true")
    return update, remove


def _modified(last_error: Doc, value: Doc | None) -> Doc:
    return {"lastErrorObject": last_error, "value": value, "ok": 1.0}


def create(call: Call) -> Doc:
    coll = call.collection(call.cmd["create"])
    if call.engine.exists(call.db, coll.name):
        raise CommandError(48, "NamespaceExists", f"Collection {coll.full_name} already exists.")
    call.engine.create_collection(call.db, coll.name)
    return {"ok": 1.0}


def create_indexes(call: Call) -> Doc:
    coll = call.collection(call.cmd["createIndexes"])
    existed = call.engine.exists(call.db, coll.name)
    before = len(coll.store.indexes) + 1
    try:
        for spec in call.cmd.get("indexes", []):
            if spec.get("name") != "_id_":
                options = {k: spec[k] for k in _INDEX_OPTIONS if k in spec}
                coll.create_index(list(spec["key"].items()), name=spec.get("name"), **options)
    finally:  # the ones created before a failure stay, as in MongoDB, and are journaled
        call.engine.indexes_changed(call.db, coll.name)
    return {
        "createdCollectionAutomatically": not existed,
        "numIndexesBefore": before,
        "numIndexesAfter": len(coll.store.indexes) + 1,
        "ok": 1.0,
    }


def drop_indexes(call: Call) -> Doc:
    coll = call.collection(call.cmd["dropIndexes"])
    was = len(coll.store.indexes) + 1
    wanted = call.cmd.get("index")
    names = list(coll.store.indexes) if wanted == "*" else wanted if isinstance(wanted, list) else [wanted]
    keys = [helpers.gen_index_name(list(n.items())) if isinstance(n, dict) else n for n in names]
    missing = [key for key in keys if key not in coll.store.indexes]
    if missing:
        raise CommandError(27, "IndexNotFound", f"index not found with name [{missing[0]}]")
    for key in keys:
        coll.store.drop_index(key)
    call.engine.indexes_changed(call.db, coll.name)
    return {"nIndexesWas": was, "ok": 1.0}


def drop(call: Call) -> Doc:
    coll = call.collection(call.cmd["drop"])
    return {"ns": coll.full_name, "nIndexesWas": call.engine.drop_collection(call.db, coll.name), "ok": 1.0}


def drop_database(call: Call) -> Doc:
    call.engine.drop_database(call.db)
    return {"dropped": call.db, "ok": 1.0}
