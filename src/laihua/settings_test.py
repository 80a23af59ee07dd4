"""Settings for the test suite: SQLite in memory, or PostgreSQL when LAIHUA_TEST_DATABASE_URL is set."""

import os

os.environ.setdefault("LAIHUA_TESTING", "1")

import dj_database_url  # noqa: E402

from laihua.settings import *  # noqa: E402,F403
from laihua.settings import DATABASES  # noqa: E402

_test_url = os.environ.get("LAIHUA_TEST_DATABASE_URL", "")
if _test_url:
    DATABASES["default"] = dj_database_url.parse(_test_url)
else:
    DATABASES["default"] = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:", "TEST": {"NAME": ""}}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast hashing for tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DEBUG = False
# The suite signs users in with force_login, which passes no second factor; the tests of the second factor
# (accounts/tests/test_mfa*.py) set LAIHUA_MFA_REQUIRED_ROLES to the production default themselves.
LAIHUA_MFA_REQUIRED_ROLES = []
# Demo loads leave the generated history out (demo/tests/test_history.py turns it on).
LAIHUA_DEMO_HISTORY = False
