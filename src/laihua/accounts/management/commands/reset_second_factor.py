from django.core.management.base import BaseCommand, CommandError

from laihua.accounts import mfa
from laihua.accounts.models import User


class Command(BaseCommand):
    help = (
        "Remove every second factor (authenticator apps, passkeys, recovery codes) of a user, e.g. after a lost "
        "phone; audited as done by the system. The user then signs in with the password and sets up a new one."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        removed = mfa.reset_second_factor(None, user, by_system=True)
        self.stdout.write(f"Second factor of {user.username} reset ({removed} records removed).")
