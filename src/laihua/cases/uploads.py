"""Files attached to a case: what a file is comes from its content, never from its name.

Accepted: PDF, JPEG, PNG, a zip holding only DICOM images, and an International Patient Summary (a FHIR
Bundle of type "document" whose first entry is a Composition, as JSON or XML). Anything else, anything
over settings.LAIHUA_UPLOAD_MAX_BYTES, and any zip that could hurt whoever opens it (names leaving the
folder, links, encrypted members, more bytes inside than the limit allows) is refused with
InvalidInput(field="file") and a message in the user's language.

IPS files are checked for their document structure only: they stay attachments until the records
capability imports them and validates them fully (fhir.resources would refuse some valid R4 documents
with its R4B or R5 models, so it is not used as a gate here).
"""

import hashlib
import io
import json
import re
import stat
import unicodedata
import zipfile
import zlib
from pathlib import PurePosixPath

import filetype
from django.conf import settings
from django.db import transaction
from django.http import FileResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from laihua.audit.services import record_event
from laihua.cases.models import Attachment, AttachmentKind
from laihua.errors import DomainError, InvalidInput
from laihua.kit.fhirxml import XmlError, XmlUnsafe, parse_safely

CHUNK = 64 * 1024
SNIFF_BYTES = 8192
PDF_EOF_WINDOW = 4096  # "%%EOF" must appear this near the end: a cut-off upload is refused
ZIP_MAX_MEMBERS = 20_000
ZIP_MAX_UNZIPPED_FACTOR = 10  # a zip may hold this many times the upload limit, uncompressed
DICOM_MAGIC_OFFSET = 128
DICOM_MAGIC = b"DICM"
FHIR_NS = "{http://hl7.org/fhir}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _accepted() -> str:
    return _(
        "Attach a PDF, a JPEG or PNG image, a zip of DICOM images, or an International Patient Summary "
        "(FHIR JSON or XML)."
    )


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message, field="file")


def max_upload_bytes() -> int:
    return settings.LAIHUA_UPLOAD_MAX_BYTES


def max_unzipped_bytes() -> int:
    return getattr(settings, "LAIHUA_UPLOAD_MAX_UNZIPPED_BYTES", max_upload_bytes() * ZIP_MAX_UNZIPPED_FACTOR)


def _size_of(uploaded_file) -> int:
    size = getattr(uploaded_file, "size", None)
    if size is None:
        uploaded_file.seek(0, io.SEEK_END)
        size = uploaded_file.tell()
    return size


def _read_at(uploaded_file, offset: int, length: int, *, whence=io.SEEK_SET) -> bytes:
    uploaded_file.seek(offset, whence)
    return uploaded_file.read(length)


def _sha256(uploaded_file) -> str:
    digest = hashlib.sha256()
    uploaded_file.seek(0)
    for chunk in iter(lambda: uploaded_file.read(CHUNK), b""):
        digest.update(chunk)
    uploaded_file.seek(0)
    return digest.hexdigest()


def check_upload(uploaded_file) -> tuple[str, str, int, str]:
    """Return (kind, content type, size, sha256) of an acceptable file, or raise InvalidInput(field="file")."""
    size = _size_of(uploaded_file)
    if size == 0:
        raise _refuse(_("The file is empty."))
    if size > max_upload_bytes():
        raise _refuse(
            _("The file is %(size)s; files up to %(limit)s can be attached.")
            % {"size": filesizeformat(size), "limit": filesizeformat(max_upload_bytes())}
        )
    head = _read_at(uploaded_file, 0, SNIFF_BYTES)
    guess = filetype.guess(head)
    mime = guess.mime if guess else None
    if mime == "application/pdf":
        _check_pdf(uploaded_file, head)
        kind, content_type = AttachmentKind.PDF, mime
    elif mime == "image/jpeg":
        kind, content_type = AttachmentKind.JPEG, mime
    elif mime == "image/png":
        _check_png(head)
        kind, content_type = AttachmentKind.PNG, mime
    elif head.startswith(b"PK\x03\x04"):
        _check_dicom_zip(uploaded_file)
        kind, content_type = AttachmentKind.DICOM_ZIP, "application/zip"
    elif mime is None and _looks_like_text(head):
        kind, content_type = AttachmentKind.IPS, _check_ips(uploaded_file, head)
    else:
        found = _("its content is of type %(type)s.") % {"type": mime} if mime else _("its content is not recognised.")
        raise _refuse(_("This kind of file cannot be attached: %(found)s") % {"found": found} + " " + _accepted())
    return str(kind), content_type, size, _sha256(uploaded_file)


def _check_pdf(uploaded_file, head: bytes) -> None:
    tail = _read_at(uploaded_file, -min(PDF_EOF_WINDOW, _size_of(uploaded_file)), PDF_EOF_WINDOW, whence=io.SEEK_END)
    if not head.lstrip(b"\xef\xbb\xbf").startswith(b"%PDF-") or b"%%EOF" not in tail:
        raise _refuse(_("This PDF is damaged or incomplete: save or scan it again and attach the new file."))


def _check_png(head: bytes) -> None:
    if not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
        raise _refuse(_("This PNG image is damaged: save it again and attach the new file."))


# --- zip of DICOM images ------------------------------------------------------------------------


def _unsafe_member_name(info: zipfile.ZipInfo) -> bool:
    """A name that would land outside the folder it is unpacked in, or a link."""
    name = info.filename
    if "\x00" in name or not name:
        return True
    normal = name.replace("\\", "/")
    if normal.startswith("/") or re.match(r"[A-Za-z]:", normal):
        return True
    if ".." in PurePosixPath(normal).parts:
        return True
    return stat.S_ISLNK(info.external_attr >> 16)


def _is_dicomdir(name: str) -> bool:
    return PurePosixPath(name.replace("\\", "/")).name.upper() == "DICOMDIR"


def _check_dicom_zip(uploaded_file) -> None:
    uploaded_file.seek(0)
    try:
        with zipfile.ZipFile(uploaded_file) as archive:
            members = archive.infolist()
            _check_zip_directory(members)
            _check_zip_members(archive, members)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError):
        raise _refuse(_("This zip file is damaged or compressed in a way that cannot be read.")) from None
    finally:
        uploaded_file.seek(0)


def _check_zip_directory(members: list[zipfile.ZipInfo]) -> None:
    if len(members) > ZIP_MAX_MEMBERS:
        raise _refuse(_("This zip holds more than %(count)d files.") % {"count": ZIP_MAX_MEMBERS})
    for info in members:
        if _unsafe_member_name(info):
            raise _refuse(
                _("The zip holds “%(name)s”, a name that points outside its folder; it is refused for safety.")
                % {"name": info.filename[:120]}
            )
        if info.flag_bits & 0x1:
            raise _refuse(
                _("The zip holds an encrypted file (“%(name)s”). Attach the images without a password.")
                % {"name": info.filename[:120]}
            )
    if sum(info.file_size for info in members) > max_unzipped_bytes():
        raise _refuse(_zip_too_big())
    if not any(not info.is_dir() for info in members):
        raise _refuse(_("This zip is empty: it should hold DICOM images."))


def _zip_too_big() -> str:
    return _("Unpacked, this zip would be larger than %(limit)s; attach fewer images at a time.") % {
        "limit": filesizeformat(max_unzipped_bytes())
    }


def _check_zip_members(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo]) -> None:
    """Read every member: each must be a DICOM file, and the bytes really unpacked (not the sizes the
    zip declares) must stay under the limit."""
    budget = max_unzipped_bytes()
    for info in members:
        if info.is_dir():
            continue
        with archive.open(info) as member:
            start = member.read(DICOM_MAGIC_OFFSET + len(DICOM_MAGIC))
            budget -= len(start)
            if start[DICOM_MAGIC_OFFSET:] != DICOM_MAGIC and not _is_dicomdir(info.filename):
                raise _refuse(
                    _("“%(name)s” in the zip is not a DICOM image; a zip may hold only DICOM images.")
                    % {"name": info.filename[:120]}
                )
            while budget >= 0:
                chunk = member.read(CHUNK)
                if not chunk:
                    break
                budget -= len(chunk)
        if budget < 0:
            raise _refuse(_zip_too_big())


# --- International Patient Summary ---------------------------------------------------------------


BYTE_ORDER_MARKS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def _first_character(head: bytes) -> str:
    """The first character of a text file that is not white space, read in the encoding its byte-order mark
    names (UTF-8 without one); "" when the head is not text."""
    encoding, start = "utf-8", 0
    for mark, marked in BYTE_ORDER_MARKS:
        if head.startswith(mark):
            encoding, start = marked, len(mark)
            break
    text = head[start : start + 64].decode(encoding, errors="ignore")
    return text.lstrip(" \t\r\n")[:1]


def _looks_like_text(head: bytes) -> bool:
    return _first_character(head) in ("{", "<")


def _not_ips(detail: str) -> InvalidInput:
    return _refuse(
        _("This file is not an International Patient Summary: %(detail)s") % {"detail": detail} + " " + _accepted()
    )


def _check_ips(uploaded_file, head: bytes) -> str:
    uploaded_file.seek(0)
    content = uploaded_file.read()
    uploaded_file.seek(0)
    if _first_character(head) == "{":
        _check_ips_json(content)
        return "application/fhir+json"
    _check_ips_xml(content)
    return "application/fhir+xml"


def _check_ips_json(content: bytes) -> None:
    try:
        document = json.loads(content)
    except (ValueError, RecursionError):
        raise _not_ips(_("it is not valid JSON.")) from None
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        raise _not_ips(_("it is not a FHIR Bundle."))
    if document.get("type") != "document":
        raise _not_ips(_("it is a FHIR Bundle, but not a document."))
    entries = document.get("entry")
    first = entries[0] if isinstance(entries, list) and entries else None
    resource = first.get("resource") if isinstance(first, dict) else None
    if not isinstance(resource, dict) or resource.get("resourceType") != "Composition":
        raise _not_ips(_("a FHIR document starts with a Composition, and this one does not."))


def _check_ips_xml(content: bytes) -> None:
    try:
        root = parse_safely(content)  # a DOCTYPE or an entity is refused in any encoding (UTF-8, UTF-16, ...)
    except XmlUnsafe:
        raise _not_ips(_("XML with a document type declaration is refused for safety.")) from None
    except XmlError:
        raise _not_ips(_("it is not well-formed XML.")) from None
    if root.tag != FHIR_NS + "Bundle":
        raise _not_ips(_("it is not a FHIR Bundle."))
    bundle_type = root.find(FHIR_NS + "type")
    if bundle_type is None or bundle_type.get("value") != "document":
        raise _not_ips(_("it is a FHIR Bundle, but not a document."))
    holder = root.find(f"{FHIR_NS}entry/{FHIR_NS}resource")
    first = next((child for child in holder if isinstance(child.tag, str)), None) if holder is not None else None
    if first is None or first.tag != FHIR_NS + "Composition":
        raise _not_ips(_("a FHIR document starts with a Composition, and this one does not."))


# --- storing -------------------------------------------------------------------------------------


def display_name(name: str | None) -> str:
    """The file's own name, for showing only (never used on disk): no folders, no control characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if len(base) > 200:
        stem, dot, extension = base.rpartition(".")
        base = (stem[: 199 - len(extension)] + dot + extension) if dot and len(extension) < 20 else base[:200]
    return base or _("attachment")


@transaction.atomic
def store_attachment(case, uploaded_by, uploaded_file, *, message=None, internal=False) -> Attachment:
    """Check the file by its content, then keep it with the case (under a random name); audited.

    The caller has already checked that `uploaded_by` may attach to this case."""
    if message is not None and message.case_id != case.pk:
        raise InvalidInput(_("This message belongs to another case."), field="message")
    kind, content_type, size, digest = check_upload(uploaded_file)
    attachment = Attachment(
        case=case,
        message=message,
        uploaded_by=uploaded_by,
        original_name=display_name(getattr(uploaded_file, "name", "")),
        kind=kind,
        content_type=content_type,
        size=size,
        sha256=digest,
        internal=internal,
    )
    uploaded_file.seek(0)
    attachment.file.save(attachment.original_name, uploaded_file, save=False)
    try:
        with transaction.atomic():
            attachment.save()
    except Exception:
        attachment.file.delete(save=False)
        raise
    record_event(
        uploaded_by,
        "case.attachment.add",
        attachment,
        hospital=case.hospital,
        detail={"case": case.reference, "kind": kind, "size": size, "sha256": digest, "internal": internal},
    )
    return attachment


def attachment_response(attachment) -> FileResponse:
    """The stored file as a download, with the content type found when it was checked; never inline."""
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise DomainError(_("This file is missing from the storage."), code="file_missing", status=410) from None
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.original_name, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
