"""A local S3-compatible server (moto) for the S3 storage and backup tests."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer


@dataclass
class S3:
    endpoint: str

    def client(self) -> Any:
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="eu-west-1",
            aws_access_key_id="test", aws_secret_access_key="test",
        )  # fmt: skip

    def new_bucket(self) -> str:
        name = f"cbp-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        return name

    def settings(self, bucket: str) -> dict[str, str]:
        """The AWS_* settings of a path-style, custom-endpoint S3 (as for MinIO)."""
        return {
            "AWS_ENDPOINT": self.endpoint,
            "AWS_USE_PATH_STYLE_ENDPOINT": "true",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_BUCKET": bucket,
        }

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        listed = self.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture(scope="session")
def s3() -> Iterator[S3]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
