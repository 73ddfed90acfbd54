"""The api's JSON responses: a view's camelCase JSON, or no body at all for a 204."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from flowgen.schema import Model


def json_response(status: int, model: Model | None, headers: dict[str, str] | None = None) -> Response[Any]:
    if model is None:  # 204: no body at all (Powertools would send the JSON `null`)
        return Response(status_code=status, body="", headers=headers)
    body = model.model_dump_json(by_alias=True)
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)
