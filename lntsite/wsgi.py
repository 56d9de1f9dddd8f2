import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lntsite.settings")
application = get_wsgi_application()

if settings.DATABASE_CLIENT_TIMEOUT:
    # Requests wait at most this long for each database round trip, so a frozen server
    # is a 503 well before gunicorn's worker timeout (lntsite/db/postgresql.py).
    from lntsite.db.postgresql import bound_waits

    bound_waits(settings.DATABASE_CLIENT_TIMEOUT)
