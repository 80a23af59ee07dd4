from django.core.management.base import BaseCommand, CommandError

from laihua.accounts import services
from laihua.accounts.models import User
from laihua.errors import DomainError


class Command(BaseCommand):
    help = "Create a personal API token for a user and print it once (only its fingerprint is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username", help="the account the token acts for")
        parser.add_argument("--name", default="", help="what the token is for, e.g. 'reporting script'")

    def handle(self, *args, username, name, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        try:
            token, secret = services.create_api_token(None, user, name or "command line", by_system=True)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stderr.write(f"Token {token.name!r} for {user.username} (shown once; store it now):")
        self.stdout.write(secret)
