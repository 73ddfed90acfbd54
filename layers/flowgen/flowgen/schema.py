"""The base of every model here: camelCase on the wire and in MongoDB (design §3), snake_case in
Python."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Model(BaseModel):
    # defer_build: a model's validator is built on its first use, so a function pays only for
    # the models it touches, not all of them at import (cold start; bench/cold_start.py)
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)


class Request(Model):
    """An API request body: unknown fields are refused, and every field is strict (a number is
    not a string, `0` is not `false`, `"1"` is not `1`, `1.0` is not an index)."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, defer_build=True, strict=True
    )
