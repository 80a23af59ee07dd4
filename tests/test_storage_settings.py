"""The uploads' storage is read from the environment: the local disk by default, an S3-compatible bucket with
LAIHUA_S3_BUCKET, its prefix, endpoint, keys and region."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRINT = (
    "import json, django; from django.conf import settings; django.setup(); "
    "from django.core.files.storage import default_storage as s; s._setup(); "
    "options = settings.STORAGES['default'].get('OPTIONS', {}); "
    "print(json.dumps({'backend': type(s._wrapped).__name__, 'options': options, 'location': str(s.location)}))"
)


def storage_with(**env) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LAIHUA_", "DATABASE_URL", "DJANGO_"))}
    clean.update({"PYTHONPATH": str(ROOT / "src"), "DJANGO_SETTINGS_MODULE": "laihua.settings", "LAIHUA_TESTING": "1"})
    clean.update(env)
    result = subprocess.run([sys.executable, "-c", PRINT], env=clean, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_uploads_stay_on_the_local_disk_by_default(tmp_path):
    storage = storage_with(LAIHUA_MEDIA_ROOT=str(tmp_path / "media"))
    assert storage["backend"] == "FileSystemStorage" and storage["location"] == str(tmp_path / "media")


def test_a_bucket_sends_every_upload_to_s3_compatible_storage():
    storage = storage_with(
        LAIHUA_S3_BUCKET="laihua-files",
        LAIHUA_S3_ENDPOINT_URL="https://minio.internal:9000",
        LAIHUA_S3_ACCESS_KEY_ID="AKIA-LAIHUA",
        LAIHUA_S3_SECRET_ACCESS_KEY="s3cr3t",
        LAIHUA_S3_REGION="cn-north-1",
        LAIHUA_S3_PREFIX="/shanghai/uploads/",
    )
    assert storage["backend"] == "S3Storage" and storage["location"] == "shanghai/uploads"
    options = storage["options"]
    assert options["bucket_name"] == "laihua-files" and options["endpoint_url"] == "https://minio.internal:9000"
    assert (options["access_key"], options["secret_key"], options["region_name"]) == (
        "AKIA-LAIHUA",
        "s3cr3t",
        "cn-north-1",
    )
    assert options["querystring_auth"] is True and options["default_acl"] is None
    assert options["file_overwrite"] is False
