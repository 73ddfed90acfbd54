"""S3's browser POST upload, checked as S3 checks it, on moto's server (issue 24).

moto's IAM enforcement reads every S3 request's Authorization header, which a browser's POST
form does not have (a KeyError, answered 500), and moto never checks a form's policy. Here a
POST with a `policy` field is checked as S3 does, then stored by moto without its header check:
- the signature: SigV4 over the base64 policy with the signing key of the credential's secret
  (an IAM user's key, or an assumed role's with its session token);
- the principal: its policies must allow s3:PutObject on the object (IAM enforced, as elsewhere);
- the policy: not expired, and every condition holds (bucket, key, Content-Type, any `eq` or
  `starts-with`, `content-length-range` against the file's size).
A refusal is S3's 403 AccessDenied with the failed condition named.
A CORS preflight (OPTIONS) is answered from the bucket's CORS rules without credentials, as S3
answers it (the web app's upload is preflighted: it listens to the upload's progress).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

FORM_FIELDS_NOT_IN_POLICY = {"policy", "x-amz-signature", "file"}


class FormRefused(Exception):
    pass


def _field(form: dict[str, str], name: str) -> str | None:
    lowered = {k.lower(): v for k, v in form.items()}
    return lowered.get(name.lower())


def policy_problem(form: dict[str, str], bucket: str, size: int, now: datetime) -> str | None:
    """What S3 would refuse in this form's policy, or None."""
    try:
        policy = json.loads(base64.b64decode(form["policy"]))
    except (KeyError, ValueError):
        return "Invalid Policy: the policy is not base64 JSON"
    expires = datetime.fromisoformat(str(policy.get("expiration", "")).replace("Z", "+00:00"))
    if expires <= now:
        return "Invalid according to Policy: Policy expired."
    values = {**{k.lower(): v for k, v in form.items()}, "bucket": bucket}
    for condition in policy.get("conditions", []):
        problem = _condition_problem(condition, values, size)
        if problem:
            return f"Invalid according to Policy: Policy Condition failed: {problem}"
    return None


def _condition_problem(condition: Any, values: dict[str, str], size: int) -> str | None:
    if isinstance(condition, dict):
        ((name, expected),) = condition.items()
        return None if values.get(str(name).lower()) == str(expected) else json.dumps(condition)
    operator, *args = condition
    if operator == "content-length-range":
        low, high = int(args[0]), int(args[1])
        return None if low <= size <= high else json.dumps(condition)
    name, expected = str(args[0]).lstrip("$").lower(), str(args[1])
    actual = values.get(name)
    if operator == "eq":
        return None if actual == expected else json.dumps(condition)
    if operator == "starts-with":
        return None if actual is not None and actual.startswith(expected) else json.dumps(condition)
    return json.dumps(condition)


def signature(secret: str, credential_scope: str, policy_b64: str) -> str:
    """SigV4 for a POST policy: the signing key of the scope's date, region and service."""
    date, region, service, terminal = credential_scope.split("/")[1:5]
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, terminal):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()


def check_form(form: dict[str, str], bucket: str, key: str, size: int, account_id: str) -> None:
    """Raises FormRefused unless S3 would accept this upload."""
    from moto.iam.access_control import CreateAccessKeyFailure, IAMPolicy, PermissionResult, create_access_key

    credential = _field(form, "x-amz-credential") or ""
    token = _field(form, "x-amz-security-token")
    try:
        principal = create_access_key(
            account_id=account_id,
            partition="aws",
            access_key_id=credential.split("/")[0],
            headers={"X-Amz-Security-Token": token} if token else {},
        )
    except CreateAccessKeyFailure as failure:
        raise FormRefused(f"The AWS Access Key Id you provided does not exist in our records ({failure})") from None
    secret = principal.create_credentials().secret_key
    if not hmac.compare_digest(
        signature(secret, credential, form.get("policy", "")), _field(form, "x-amz-signature") or ""
    ):
        raise FormRefused("The request signature we calculated does not match the signature you provided.")
    results = [
        IAMPolicy(policy).is_action_permitted("s3:PutObject", f"arn:aws:s3:::{bucket}/{key}")
        for policy in principal.collect_policies()
    ]
    if PermissionResult.DENIED in results or PermissionResult.PERMITTED not in results:
        raise FormRefused("Access Denied")
    problem = policy_problem(form, bucket, size, datetime.now(UTC))
    if problem:
        raise FormRefused(problem)


def _denied(message: str) -> tuple[int, dict[str, str], str]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
        f"<Message>{message.replace('&', '&amp;').replace('<', '&lt;')}</Message></Error>"
    )
    return 403, {"Content-Type": "application/xml"}, body


def install() -> None:
    """Patches moto's S3 responses in this process (once)."""
    from moto.s3.responses import S3Response

    if getattr(S3Response, "_browser_post_installed", False):
        return
    S3Response._browser_post_installed = True  # type: ignore[attr-defined]
    original = S3Response._bucket_response_post

    def bucket_response_post(self: Any, request: Any, bucket_name: str) -> Any:
        form = {k: v[0] for k, v in self.querystring.items() if v}
        if "policy" not in form or "Authorization" in request.headers:
            return original(self, request, bucket_name)
        body = self.body if isinstance(self.body, bytes) else bytes(self.body or b"")
        try:
            check_form(form, bucket_name, form.get("key", ""), len(body), self.current_account)
        except FormRefused as refused:
            return _denied(str(refused))
        authorize = self._authenticate_and_authorize_s3_action
        self._authenticate_and_authorize_s3_action = lambda **_: None  # checked above, as S3 does
        try:
            return original(self, request, bucket_name)
        finally:
            self._authenticate_and_authorize_s3_action = authorize

    S3Response._bucket_response_post = bucket_response_post  # type: ignore[method-assign]

    # A browser's CORS preflight (OPTIONS) carries no credentials: S3 answers it from the bucket's
    # CORS configuration alone. moto authenticates it first, so an enforcing moto refuses every
    # preflight (403) and a page's XMLHttpRequest upload, which is preflighted, never starts.
    answer_options = S3Response._response_options

    def response_options(self: Any, headers: Any, bucket_name: str) -> Any:
        authorize = self._authenticate_and_authorize_s3_action
        self._authenticate_and_authorize_s3_action = lambda **_: None
        try:
            return answer_options(self, headers, bucket_name)
        finally:
            self._authenticate_and_authorize_s3_action = authorize

    S3Response._response_options = response_options  # type: ignore[method-assign]
