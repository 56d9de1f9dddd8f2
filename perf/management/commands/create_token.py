from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from perf.models import SubmissionToken
from perf.services.tokens import token_create


class Command(BaseCommand):
    help = "Create a submission token and print it (shown once; only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A unique name for the token, e.g. the bot's name.")
        parser.add_argument(
            "--machine", default="", help="Only allow submissions for this machine name."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name:
            raise CommandError("the token name must not be empty")
        if SubmissionToken.objects.filter(name=name).exists():
            raise CommandError(f"a token named {name!r} already exists")
        _, raw = token_create(name, machine_name=options["machine"])
        self.stdout.write(raw)
