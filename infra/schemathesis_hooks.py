"""Schemathesis hooks for `infra/fuzz-api.sh`: what the guest page does and CloudFront
requires in front of the guest functions' URLs (Lambda takes no unsigned body), so the
fuzzer's guest requests reach the functions: each POST to /guest/... carries
`x-amz-content-sha256`, the hex SHA-256 of the body as it will be sent. The document
declares that header (required), so schemathesis generates one for every guest request;
this replaces its random value with the true hash. A request it sends without the header
on purpose (checking that a missing required header is refused) goes without it."""

import hashlib
import json

import schemathesis


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if not case.path.startswith("/guest/") or "x-amz-content-sha256" not in (case.headers or {}):
        return
    # requests' `json=` serialises with json.dumps' defaults: the hash of those bytes.
    if type(case.body).__name__ == "NotSet":
        body = b""
    elif isinstance(case.body, bytes):
        body = case.body
    else:  # a str too: the operations take JSON, so it goes out as a JSON string
        body = json.dumps(case.body).encode()
    case.headers = {**(case.headers or {}), "x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
