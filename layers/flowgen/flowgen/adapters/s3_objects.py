"""SourceObjects on S3 (issue 24): the private, encrypted sources bucket.

An upload is a presigned POST whose policy admits exactly one object: this key, this
Content-Type and exactly the declared size (`content-length-range` from size to size), for a
few minutes. S3 refuses any other upload, so the worker never reads what the API did not agree
to; it still caps what it reads (a policy is S3's check, the cap is ours)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from flowgen.errors import DependencyUnavailable
from flowgen.library import FileTooLarge

_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3SourceObjects:
    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def upload_form(self, key: str, content_type: str, size: int, expires_in: int) -> tuple[str, dict[str, str]]:
        try:
            form = self.client.generate_presigned_post(
                Bucket=self.bucket,
                Key=key,
                Fields={"Content-Type": content_type},
                Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
                ExpiresIn=expires_in,
            )
        except (BotoCoreError, ClientError) as exc:  # credentials could not be read
            raise DependencyUnavailable("storage") from exc
        return str(form["url"]), {str(k): str(v) for k, v in form["fields"].items()}

    def read(self, key: str, max_bytes: int) -> bytes | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
            if int(head["ContentLength"]) > max_bytes:
                raise FileTooLarge(key)
            body = self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{max_bytes}")["Body"]
            data: bytes = body.read(max_bytes + 1)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
                return None
            raise DependencyUnavailable("storage") from exc
        except BotoCoreError as exc:
            raise DependencyUnavailable("storage") from exc
        if len(data) > max_bytes:  # replaced by a larger object since the HEAD
            raise FileTooLarge(key)
        return data

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise DependencyUnavailable("storage") from exc
