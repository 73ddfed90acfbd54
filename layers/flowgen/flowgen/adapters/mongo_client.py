"""Connects to MongoDB: Atlas in production; locally and in tests a real MongoDB or the
stand-in (`flowgen_stand_in`), which speaks the same wire protocol to the same pymongo."""

from __future__ import annotations

from typing import Any

from pymongo import MongoClient
from pymongo.database import Database


def connect(uri: str, db_name: str) -> Database[Any]:
    # fail fast inside a Lambda's budget; options written in the URI take precedence
    defaults: dict[str, Any] = {"serverSelectionTimeoutMS": 3000, "connectTimeoutMS": 3000}
    options = {k: v for k, v in defaults.items() if k.lower() not in uri.lower()}
    client: MongoClient[Any] = MongoClient(uri, tz_aware=True, appname="flowgen", **options)
    return client[db_name]
