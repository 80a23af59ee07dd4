"""laihua restore SOURCE [--database-url URL] [--media-root DIR] [--check]

See docs/operations.md, "Backups"."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from laihua.ops.archive import OpsError
from laihua.ops.restore import check_backup, restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `laihua backup` into an empty database and an empty file storage, after checking "
        "every file's checksum. A database or media root that holds anything is refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", help="The backup: its folder or its tar file.")
        parser.add_argument(
            "--database-url", help="Restore into this database (default: DATABASE_URL); it must be empty."
        )
        parser.add_argument(
            "--media-root",
            help="Restore the files into this folder instead of the configured storage (LAIHUA_MEDIA_ROOT or "
            "LAIHUA_S3_BUCKET); either must hold no file.",
        )
        parser.add_argument("--check", action="store_true", help="Only check the backup's checksums; restore nothing.")

    def handle(self, *args, source, database_url=None, media_root=None, check=False, **options):
        try:
            if check:
                manifest = check_backup(source)
            else:
                restored = restore(source, database_url=database_url, media_root=media_root)
                manifest = restored.manifest
        except OpsError as exc:
            raise CommandError(str(exc)) from None
        if options["verbosity"] < 1:
            return
        chain = manifest["audit_chain"]
        if check:
            count = len(manifest["files"])
            self.stdout.write(
                ngettext(
                    "The backup of %(date)s is whole: %(count)d file matches its checksum.",
                    "The backup of %(date)s is whole: all %(count)d files match their checksums.",
                    count,
                )
                % {"date": manifest["created_at"], "count": count}
            )
            return
        self.stdout.write(
            ngettext(
                "Restored the backup of %(date)s into %(database)s, with %(count)d file.",
                "Restored the backup of %(date)s into %(database)s, with %(count)d files.",
                restored.files,
            )
            % {"date": manifest["created_at"], "database": restored.database, "count": restored.files}
        )
        if restored.pending_migrations:
            self.stdout.write(
                _("This Laihua is newer than the backup: run `laihua migrate` (%(count)d migrations).")
                % {"count": restored.pending_migrations}
            )
        self.stdout.write(
            _("Then check the audit trail against the backup: laihua audit verify --expect %(seq)d:%(hash)s")
            % {"seq": chain["seq"], "hash": chain["hash"] or "-"}
        )
