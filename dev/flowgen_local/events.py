"""API Gateway HTTP API (payload 2.0) events, built the way API Gateway builds them."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

from flowgen_local.template import DEFAULT_ROUTE, Route


def _request_context(method: str, path: str, route_key: str) -> dict[str, Any]:
    now = time.time()
    return {
        "accountId": "000000000000",
        "apiId": "local",
        "domainName": "localhost",
        "domainPrefix": "localhost",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "local"},
        "requestId": uuid.uuid4().hex,
        "routeKey": route_key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }


def http_event(
    method: str,
    path: str,
    *,
    route: Route | None = None,
    path_parameters: dict[str, str] | None = None,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
) -> dict[str, Any]:
    route_key = route.key if route else DEFAULT_ROUTE
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": {k.lower(): v for k, v in (headers or {}).items()},
        "requestContext": _request_context(method, path, route_key),
        "isBase64Encoded": False,
    }
    params = dict(parse_qsl(query, keep_blank_values=True))
    if params:
        event["queryStringParameters"] = params
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body is not None:
        if isinstance(body, bytes):
            try:
                event["body"] = body.decode()
            except UnicodeDecodeError:
                event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        else:
            event["body"] = body
    return event


def authorizer_event(request: dict[str, Any], identity_source: list[str]) -> dict[str, Any]:
    """The REQUEST authorizer event (payload 2.0) for an HTTP API request event."""
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:us-east-1:000000000000:local/$default/{request['routeKey'].replace(' ', '')}",
        "identitySource": identity_source,
        "routeKey": request["routeKey"],
        "rawPath": request["rawPath"],
        "rawQueryString": request["rawQueryString"],
        "headers": request["headers"],
        "queryStringParameters": request.get("queryStringParameters", {}),
        "pathParameters": request.get("pathParameters", {}),
        "requestContext": request["requestContext"],
    }


def match_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """As API Gateway: a route whose method and path match, else the $default route if any."""
    for route in routes:
        if route.path == DEFAULT_ROUTE or route.method not in (method, "ANY"):
            continue
        found = route.pattern().match(path)
        if found:
            return route, found.groupdict()
    default = next((route for route in routes if route.path == DEFAULT_ROUTE), None)
    return (default, {}) if default else None
