"""laihua backup DEST [--media-root DIR]

DEST is a new folder, or a file ending in .tar, .tar.gz or .tgz. See docs/operations.md, "Backups"."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from laihua.audit.services import seal
from laihua.ops.archive import OpsError
from laihua.ops.backup import make_backup


class Command(BaseCommand):
    help = (
        "Back up the database (PostgreSQL: pg_dump of one snapshot; SQLite: its backup API) and the uploaded "
        "files, with a manifest of SHA-256 checksums. Keys are never written into it: keep them apart."
    )

    def add_arguments(self, parser):
        parser.add_argument("destination", help="A new folder, or a file ending in .tar, .tar.gz or .tgz.")
        parser.add_argument(
            "--media-root",
            help="Back up the files of this folder instead of the configured storage "
            "(LAIHUA_MEDIA_ROOT or LAIHUA_S3_BUCKET).",
        )

    def handle(self, *args, destination, media_root=None, **options):
        seal()  # the events recorded since the last seal: the manifest's chain end then covers them
        try:
            backup = make_backup(destination, media_root=media_root)
        except OpsError as exc:
            raise CommandError(str(exc)) from None
        chain = backup.manifest["audit_chain"]
        media = backup.manifest["media"]
        if options["verbosity"] >= 1:
            self.stdout.write(
                ngettext(
                    "Backup written to %(path)s: the database and %(count)d file (%(bytes)d bytes).",
                    "Backup written to %(path)s: the database and %(count)d files (%(bytes)d bytes).",
                    media["files"],
                )
                % {"path": backup.path, "count": media["files"], "bytes": media["bytes"]}
            )
            self.stdout.write(
                _("The audit chain ends at number %(seq)d, hash %(hash)s.")
                % {"seq": chain["seq"], "hash": chain["hash"] or "-"}
            )
        for name in backup.skipped:
            self.stderr.write(_("Skipped %(name)s: not a regular file.") % {"name": name})
        if backup.missing:
            raise CommandError(
                _(
                    "The backup is written, but %(count)d files the database names are missing from the media "
                    "root: %(names)s"
                )
                % {"count": len(backup.missing), "names": ", ".join(backup.missing[:10])},
                returncode=2,
            )
