"""A learner's sources through the local stack (issue 24): the real api and ingestion worker
functions, each under its own IAM role, moto's S3 and SQS, the MongoDB stand-in. A 50-page PDF
made here is registered, uploaded through the presigned POST the API hands out (as a browser
would), announced by S3 on the ingest queue, ingested by the worker, and every chunk's text is
found on its page. Another user's source is a 404 on every route."""

from __future__ import annotations

import requests

from flowgen import wiring
from flowgen.citations import normalise
from flowgen_local.documents import handbook_pages, pdf_bytes
from flowgen_local.stack import LocalStack
from tests.helpers import User


def _upload(form: dict[str, object], data: bytes, content_type: str) -> int:
    fields = form["fields"]
    assert isinstance(fields, dict) and isinstance(form["url"], str)
    answer = requests.post(form["url"], data=fields, files={"file": ("upload", data, content_type)}, timeout=10)
    assert answer.status_code < 500, answer.text[-3000:]
    return answer.status_code


def test_a_50_page_pdf_is_uploaded_ingested_listed_and_deleted(stack: LocalStack) -> None:
    alice, bob = User(stack, "alice"), User(stack, "bob")
    pages = handbook_pages(50)
    data = pdf_bytes(pages)
    created = alice.call(
        "POST", "/sources", {"filename": "handbook.pdf", "contentType": "application/pdf", "size": len(data)}
    )
    assert created.status == 201, created.body
    source = created.json()
    assert source["status"] == "UPLOADING"
    # the form's policy holds the upload to the declared size: one byte more is refused by S3's
    # rules (moto does not check policies, so this is the worker's cap and the form's fields)
    assert source["upload"]["fields"]["Content-Type"] == "application/pdf"
    assert _upload(source["upload"], data, "application/pdf") == 204
    assert stack.drain("SourceUploads") >= 1  # S3's test event and the object's
    shown = alice.call("GET", f"/sources/{source['id']}").json()
    assert (shown["status"], shown["pages"], shown["chunkCount"]) == ("READY", 50, 50), shown
    chunks = wiring.source_store().chunks("alice", [source["id"]])
    assert len(chunks) == 50
    for chunk in chunks:
        assert chunk.page is not None
        assert normalise(chunk.text) == normalise(" ".join(pages[chunk.page - 1]))
    listed = alice.call("GET", "/sources").json()
    assert [s["id"] for s in listed["items"]] == [source["id"]] and listed["storedBytes"] == len(data)

    for method in ("GET", "DELETE"):
        refused = bob.call(method, f"/sources/{source['id']}")
        assert (refused.status, refused.json()["error"]["code"]) == (404, "source_not_found")
    assert bob.call("GET", "/sources").json()["items"] == []

    assert alice.call("DELETE", f"/sources/{source['id']}").status == 204
    assert alice.call("GET", f"/sources/{source['id']}").status == 404
    assert wiring.source_store().chunks("alice", [source["id"]]) == []
    bucket = stack.buckets["SourcesBucket"].name
    assert stack.s3.list_objects_v2(Bucket=bucket, Prefix="sources/").get("KeyCount", 0) == 0


def test_a_scanned_pdf_ends_failed_with_its_reason_and_no_retry(stack: LocalStack) -> None:
    alice = User(stack, "alice")
    data = pdf_bytes([[], [], []])
    source = alice.call(
        "POST", "/sources", {"filename": "scan.pdf", "contentType": "application/pdf", "size": len(data)}
    ).json()
    assert _upload(source["upload"], data, "application/pdf") == 204
    stack.drain("SourceUploads")
    shown = alice.call("GET", f"/sources/{source['id']}").json()
    assert shown["status"] == "FAILED"
    assert shown["error"]["reason"] == "no text could be extracted: is it a scanned PDF?"
    assert stack.queue_depth("IngestQueue") == 0 and stack.queue_depth("IngestDLQ") == 0
