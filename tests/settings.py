"""Test settings: the real settings, minus the debug toolbar, with fast hashing.

The database comes from DATABASE_URL like everywhere else: unset means SQLite, and
.ci/run runs the suite a second time with DATABASE_URL pointing at PostgreSQL.
"""

import os

os.environ.setdefault("PERF_DEBUG_TOOLBAR", "0")
os.environ.setdefault("PERF_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test"))

from lntsite.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
# Tests run tasks in-process unless a test starts a real worker (tests/pipeline).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://localhost/"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING["loggers"]["perf.request"] = {"level": "WARNING"}  # noqa: F405
# Serve static files from the apps (no collectstatic before tests; live-server tests).
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
