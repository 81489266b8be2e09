#!/usr/bin/env python3
"""Uploads the built guest page to the stack's bucket and invalidates CloudFront.

    make publish-page STACK=ota-prod [REGION=eu-west-1]

Reads the bucket and distribution from the stack's outputs, uploads
infra/guest-page/dist (built by `node infra/guest-page/build.mjs`) with the cache
policy of headers.json: content-hashed assets cached for a year, the page itself
revalidated on every load. Files no longer built are deleted after the upload, so
a page being loaded never misses an asset. Uses the AWS credentials of the shell
(AWS_PROFILE or the usual variables).
"""

import argparse
import json
import mimetypes
import pathlib
import sys
import time

import boto3

ROOT = pathlib.Path(__file__).resolve().parent.parent
DIST = ROOT / "infra" / "guest-page" / "dist"
HEADERS = json.loads((ROOT / "infra" / "guest-page" / "headers.json").read_text())
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".html": "text/html; charset=utf-8", ".json": "application/json", ".svg": "image/svg+xml"}


def outputs(stack: str, region: str | None) -> dict:
    cloudformation = boto3.client("cloudformation", region_name=region)
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--region")
    args = parser.parse_args()
    if not (DIST / "index.html").is_file():
        print("no built page: run `node infra/guest-page/build.mjs` (make setup does)", file=sys.stderr)
        return 1
    found = outputs(args.stack, args.region)
    bucket, distribution = found["GuestPageBucketName"], found["GuestPageDistributionId"]
    s3 = boto3.client("s3", region_name=args.region)

    uploaded = set()
    # Assets first, the page last: the new page only ever refers to assets already there.
    files = sorted((p for p in DIST.rglob("*") if p.is_file()), key=lambda p: p.name == "index.html")
    for path in files:
        key = path.relative_to(DIST).as_posix()
        cache = HEADERS["cache"]["page"] if path.suffix == ".html" else HEADERS["cache"]["assets"]
        content_type = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        s3.upload_file(str(path), bucket, key, ExtraArgs={"CacheControl": cache, "ContentType": content_type})
        uploaded.add(key)
        print(f"uploaded {key} ({cache})")

    stale = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        stale += [{"Key": o["Key"]} for o in page.get("Contents", []) if o["Key"] not in uploaded]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": stale[start:start + 1000]})
    print(f"removed {len(stale)} files no longer built")

    cloudfront = boto3.client("cloudfront")
    invalidation = cloudfront.create_invalidation(
        DistributionId=distribution,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/index.html"]}, "CallerReference": str(time.time())},
    )
    print(f"invalidated /index.html on {distribution}: {invalidation['Invalidation']['Id']}")
    print(f"the page: {found.get('GuestPageUrl')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
