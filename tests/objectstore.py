"""An S3-compatible server for the tests: moto's server mode on a free port, spoken to over HTTP by boto3 through
django-storages exactly as a real bucket would be (no mock of boto). Import the fixtures into a test module:
`from tests.objectstore import s3_server, s3_storage  # noqa: F401`."""

import socket
import uuid

import pytest

ACCESS_KEY = "laihua-test-access"
SECRET_KEY = "laihua-test-secret"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def s3_client(endpoint: str):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
    )


def storage_settings(endpoint: str, bucket: str, prefix: str = "") -> dict:
    """The STORAGES entry settings.py builds from LAIHUA_S3_* (the same options)."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "region_name": REGION,
            "location": prefix,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            "object_parameters": {"ServerSideEncryption": "AES256"},
        },
    }


def keys(endpoint: str, bucket: str) -> dict[str, bytes]:
    """Every object in the bucket with its bytes, read straight from the server."""
    client = s3_client(endpoint)
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", ()):
            found[entry["Key"]] = client.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
    return found


@pytest.fixture(scope="session")
def s3_server():
    """The endpoint URL of a moto S3 server running for the whole session."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_storage(settings, s3_server):
    """Uploads go to a new, empty bucket (under a prefix) for this test; returns (endpoint, bucket, prefix)."""
    bucket = f"laihua-{uuid.uuid4().hex[:12]}"
    s3_client(s3_server).create_bucket(Bucket=bucket)
    settings.STORAGES = {**settings.STORAGES, "default": storage_settings(s3_server, bucket, "uploads")}
    return s3_server, bucket, "uploads"
