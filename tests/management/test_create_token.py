from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from perf.models import SubmissionToken
from perf.services.tokens import token_authenticate, token_hash

pytestmark = pytest.mark.django_db


def test_it_prints_a_token_that_is_stored_only_hashed():
    out = StringIO()
    call_command("create_token", "bot-1", "--machine", "box-1", stdout=out)
    raw = out.getvalue().strip()
    token = SubmissionToken.objects.get(name="bot-1")
    assert token.key_hash == token_hash(raw) != raw
    assert raw not in str(SubmissionToken.objects.values().get())
    assert token.machine_name == "box-1"
    assert token_authenticate(raw) == token


def test_a_duplicate_name_is_a_clear_error():
    call_command("create_token", "bot-1", stdout=StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_token", "bot-1", stdout=StringIO())
