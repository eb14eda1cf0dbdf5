"""Validate run.json and metrics.json documents against the JSON Schemas the trainer ships."""

import json
from pathlib import PurePosixPath
from typing import Any

from jsonschema import Draft202012Validator

from support.s3servers import S3Endpoint
from trainer.outputs.schema import json_schema

DOCUMENTS = {"run.json": "run", "metrics.json": "metrics"}


def problems(name: str, document: Any) -> list[str]:
    """Every way `document` (the content of a file called `name`: run.json or metrics.json) breaks its schema."""
    validator = Draft202012Validator(json_schema(DOCUMENTS[name]))  # type: ignore[arg-type]
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]


def problems_in_buckets(endpoint: S3Endpoint, bucket_prefix: str) -> tuple[int, list[str]]:
    """(documents checked, problems) over every run.json and metrics.json in the buckets named `bucket_prefix*`;
    documents under checkpoints/ are not the trainer's outputs and are skipped, nor are the hand-made ones the
    launcher's sweep tests write under lr-sweep/ (they hold only what `launcher results` reads)."""
    client = endpoint.client()
    checked, found = 0, []
    for bucket in (
        b["Name"] for b in client.list_buckets()["Buckets"] if b["Name"].startswith(bucket_prefix)
    ):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for key in (o["Key"] for o in page.get("Contents", [])):
                name = PurePosixPath(key).name
                parts = PurePosixPath(key).parts
                if name not in DOCUMENTS or "checkpoints" in parts or parts[0] == "lr-sweep":
                    continue
                document = json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
                checked += 1
                found += [f"s3://{bucket}/{key}: {problem}" for problem in problems(name, document)]
    return checked, found
