"""Attachments are judged by their bytes: real tiny files of each accepted kind, disguised files,
oversize files, and zips built to hurt whoever unpacks them."""

import hashlib
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.utils import translation

from laihua.audit.models import AuditEvent
from laihua.cases.models import Attachment, Message
from laihua.cases.uploads import check_upload, display_name, store_attachment
from laihua.errors import InvalidInput
from tests.builders import make_case

IPS_DIR = Path(__file__).parent / "data" / "ips"
SHARED_IPS_DIR = Path(__file__).resolve().parents[4].parent / "shared" / "fixtures" / "ips"


# --- real bytes ------------------------------------------------------------------------------------


def png_bytes(width=2, height=2) -> bytes:
    """A real PNG: signature, IHDR, one zlib-compressed IDAT, IEND, each chunk with its CRC."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _row in range(height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def jpeg_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def handmade_pdf() -> bytes:
    """A minimal, valid one-page PDF written by hand, with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


@pytest.fixture(scope="module")
def weasy_pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string="<h1>Discharge summary</h1><p>出院小结</p>").write_pdf()


def dicom_bytes(payload: bytes = b"") -> bytes:
    """A DICOM Part 10 file: 128-byte preamble, 'DICM', then a file meta element (0002,0010)."""
    uid = b"1.2.840.10008.1.2.1\x00"
    element = struct.pack("<HH2sH", 0x0002, 0x0010, b"UI", len(uid)) + uid
    return b"\x00" * 128 + b"DICM" + element + payload


def zip_bytes(members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in members.items():
            if name.endswith("/"):
                archive.writestr(zipfile.ZipInfo(name), b"")
            else:
                archive.writestr(name, content)
    return buffer.getvalue()


def exe_bytes() -> bytes:
    """The start of a Windows program: 'MZ' DOS header pointing at a 'PE' header."""
    header = bytearray(256)
    header[0:2] = b"MZ"
    header[0x3C:0x40] = struct.pack("<I", 0x80)
    header[0x80:0x84] = b"PE\x00\x00"
    return bytes(header) + b"\x90" * 512


def upload(name: str, content: bytes, content_type="application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def refusal(name: str, content: bytes) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        check_upload(upload(name, content))
    assert caught.value.field == "file"
    return caught.value


# --- accepted kinds --------------------------------------------------------------------------------


def test_a_pdf_written_by_weasyprint_is_a_pdf(weasy_pdf):
    content = weasy_pdf
    kind, content_type, size, digest = check_upload(upload("report.pdf", content))
    assert (kind, content_type, size) == ("pdf", "application/pdf", len(content))
    assert digest == hashlib.sha256(content).hexdigest()


def test_a_handmade_pdf_is_a_pdf():
    assert check_upload(upload("scan.pdf", handmade_pdf()))[:2] == ("pdf", "application/pdf")


def test_a_png_and_a_jpeg_are_images():
    assert check_upload(upload("xray.png", png_bytes()))[:2] == ("png", "image/png")
    assert check_upload(upload("photo.jpg", jpeg_bytes()))[:2] == ("jpeg", "image/jpeg")


def test_a_zip_of_dicom_images_with_folders_and_a_dicomdir_is_accepted():
    content = zip_bytes(
        {
            "STUDY/": b"",
            "STUDY/SERIES1/": b"",
            "STUDY/SERIES1/IM0001": dicom_bytes(b"\x01" * 500),
            "STUDY/SERIES1/IM0002.dcm": dicom_bytes(b"\x02" * 500),
            "DICOMDIR": b"\x00" * 10,
        }
    )
    kind, content_type, size, _digest = check_upload(upload("mri.zip", content))
    assert (kind, content_type, size) == ("dicom_zip", "application/zip", len(content))


def test_a_stored_zip_without_compression_is_accepted_too():
    content = zip_bytes({"IM1": dicom_bytes()}, compression=zipfile.ZIP_STORED)
    assert check_upload(upload("ct.zip", content))[0] == "dicom_zip"


@pytest.mark.parametrize("name", ["hl7-bundle-minimal.json", "hl7-IPS-bundle-01.xml"])
def test_real_international_patient_summaries_from_hl7_are_accepted(name):
    content = (IPS_DIR / name).read_bytes()
    kind, content_type, _size, _digest = check_upload(upload(name, content))
    assert kind == "ips"
    assert content_type == ("application/fhir+json" if name.endswith(".json") else "application/fhir+xml")


@pytest.mark.skipif(not SHARED_IPS_DIR.is_dir(), reason="../shared/fixtures is not checked out here")
def test_every_shared_ips_example_is_accepted():
    files = sorted(SHARED_IPS_DIR.glob("hl7-*"))
    assert len(files) >= 4
    for path in files:
        assert check_upload(upload(path.name, path.read_bytes()))[0] == "ips", path.name


def test_an_ips_saved_with_a_byte_order_mark_is_accepted():
    content = b"\xef\xbb\xbf" + (IPS_DIR / "hl7-bundle-minimal.json").read_bytes()
    assert check_upload(upload("summary.json", content))[0] == "ips"


# --- content, not name -----------------------------------------------------------------------------


def test_a_png_named_pdf_is_a_png():
    kind, content_type, *_rest = check_upload(upload("report.pdf", png_bytes(), content_type="application/pdf"))
    assert (kind, content_type) == ("png", "image/png")


def test_a_pdf_named_jpg_is_a_pdf():
    assert check_upload(upload("photo.jpg", handmade_pdf(), content_type="image/jpeg"))[0] == "pdf"


def test_a_program_renamed_pdf_is_refused_naming_what_it_is():
    error = refusal("report.pdf", exe_bytes())
    assert "application/x-msdownload" in str(error.message)


def test_plain_text_named_pdf_is_refused():
    refusal("report.pdf", b"Just some text pretending to be a PDF\n" * 10)


def test_a_word_document_is_refused():
    # A .docx is a zip too: it is refused because its members are not DICOM images.
    content = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
    error = refusal("letter.docx", content)
    assert "[Content_Types].xml" in str(error.message)


def test_a_truncated_pdf_is_refused():
    refusal("scan.pdf", handmade_pdf()[:-40])


def test_a_damaged_png_is_refused():
    content = png_bytes()
    refusal("x.png", content[:12] + b"JUNK" + content[16:])


def test_an_empty_file_is_refused():
    refusal("empty.pdf", b"")


# --- size ------------------------------------------------------------------------------------------


def test_a_file_over_the_limit_is_refused_with_both_sizes(settings):
    settings.LAIHUA_UPLOAD_MAX_BYTES = 1024
    content = handmade_pdf() + b"%" + b"x" * 2000 + b"\n%%EOF\n"
    error = refusal("big.pdf", content)
    assert "1.0\xa0KB" in str(error.message)


def test_a_file_at_the_limit_is_accepted(settings):
    content = handmade_pdf()
    settings.LAIHUA_UPLOAD_MAX_BYTES = len(content)
    assert check_upload(upload("ok.pdf", content))[2] == len(content)


def test_the_size_message_is_in_the_users_language(settings):
    settings.LAIHUA_UPLOAD_MAX_BYTES = 10
    with translation.override("zh-hans"):
        error = refusal("big.pdf", handmade_pdf())
    with translation.override("en"):
        english = refusal("big.pdf", handmade_pdf())
    assert "10\xa0bytes" in str(english.message)
    assert "10\xa0字节" in str(error.message)  # built when refused, in the language of the request


# --- zips that could hurt ---------------------------------------------------------------------------


def test_a_zip_with_a_member_that_is_not_dicom_is_refused_naming_it():
    content = zip_bytes({"IM1": dicom_bytes(), "README.txt": b"Open with the viewer"})
    error = refusal("mri.zip", content)
    assert "README.txt" in str(error.message)


def test_a_zip_holding_a_program_is_refused():
    content = zip_bytes({"IM1": dicom_bytes(), "viewer/setup.exe": exe_bytes()})
    assert "setup.exe" in str(refusal("mri.zip", content).message)


@pytest.mark.parametrize("name", ["../../etc/cron.d/evil", "/etc/passwd", "C:\\Windows\\evil.dcm", "a/../../b.dcm"])
def test_a_zip_with_a_name_leaving_its_folder_is_refused(name):
    content = zip_bytes({"IM1": dicom_bytes(), name: dicom_bytes()})
    assert "outside its folder" in str(refusal("mri.zip", content).message)


def test_a_zip_holding_a_symbolic_link_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("IM1", dicom_bytes())
        link = zipfile.ZipInfo("IM2")
        link.external_attr = (0o120777 << 16) | 0x20
        archive.writestr(link, "/etc/passwd")
    assert "outside its folder" in str(refusal("mri.zip", buffer.getvalue()).message)


def _set_flag_bits(content: bytes, bits: int) -> bytes:
    """Set general-purpose flag bits in every local header and central directory entry."""
    data = bytearray(content)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            flags = struct.unpack_from("<H", data, start + offset)[0]
            struct.pack_into("<H", data, start + offset, flags | bits)
            start += 4
    return bytes(data)


def test_a_zip_with_an_encrypted_member_is_refused():
    content = _set_flag_bits(zip_bytes({"IM1": dicom_bytes()}), 0x1)
    assert "encrypted" in str(refusal("mri.zip", content).message)


def test_a_zip_bomb_is_refused_by_its_declared_size(settings):
    settings.LAIHUA_UPLOAD_MAX_UNZIPPED_BYTES = 100_000
    content = zip_bytes({"IM1": dicom_bytes(b"\x00" * 1_000_000)})
    assert len(content) < 5_000  # a megabyte of zeros packs into a few kilobytes
    assert "larger than" in str(refusal("mri.zip", content).message)


def test_a_zip_whose_declared_sizes_lie_is_refused(settings):
    settings.LAIHUA_UPLOAD_MAX_UNZIPPED_BYTES = 100_000
    members = {f"IM{n}": dicom_bytes(b"\x00" * 30_000) for n in range(5)}
    content = bytearray(zip_bytes(members))
    # Every entry declares 10 bytes while it unpacks to 30 kB: the members are read to the end and the
    # mismatch is refused, so the declared total (50 bytes, under the limit) cannot smuggle 150 kB in.
    start = 0
    while (start := content.find(b"PK\x01\x02", start)) != -1:
        struct.pack_into("<I", content, start + 24, 10)
        start += 4
    assert "damaged" in str(refusal("mri.zip", bytes(content)).message)


def test_a_zip_with_too_many_members_is_refused(monkeypatch):
    from laihua.cases import uploads

    monkeypatch.setattr(uploads, "ZIP_MAX_MEMBERS", 3)
    content = zip_bytes({f"IM{n}": dicom_bytes() for n in range(4)})
    refusal("mri.zip", content)


def test_an_empty_zip_or_one_with_only_folders_is_refused():
    refusal("mri.zip", zip_bytes({"STUDY/": b""}))


def test_a_damaged_zip_is_refused():
    content = zip_bytes({"IM1": dicom_bytes(b"\x05" * 2000)})
    refusal("mri.zip", content[: len(content) // 2])


# --- not an IPS ------------------------------------------------------------------------------------


def _minimal_bundle(**changes) -> dict:
    bundle = json.loads((IPS_DIR / "hl7-bundle-minimal.json").read_bytes())
    bundle.update(changes)
    return bundle


def test_a_fhir_bundle_that_is_not_a_document_is_refused():
    content = json.dumps(_minimal_bundle(type="collection")).encode()
    assert "not a document" in str(refusal("ips.json", content).message)


def test_a_document_whose_first_entry_is_not_a_composition_is_refused():
    bundle = _minimal_bundle()
    bundle["entry"] = bundle["entry"][1:]
    assert "Composition" in str(refusal("ips.json", json.dumps(bundle).encode()).message)


def test_a_json_file_that_is_not_fhir_is_refused():
    refusal("data.json", b'{"hello": "world"}')


def test_broken_json_is_refused():
    refusal("ips.json", b'{"resourceType": "Bundle", ')


def test_an_xml_bundle_that_is_not_a_document_is_refused():
    original = (IPS_DIR / "hl7-IPS-bundle-01.xml").read_bytes()
    content = original.replace(b'<type value="document"/>', b'<type value="searchset"/>')
    assert content != original
    assert "not a document" in str(refusal("ips.xml", content).message)


def test_xml_with_entities_is_refused():
    content = b'<?xml version="1.0"?><!DOCTYPE b [<!ENTITY a "aaaa">]><Bundle xmlns="http://hl7.org/fhir">&a;</Bundle>'
    refusal("ips.xml", content)


def test_xml_that_is_not_fhir_is_refused():
    refusal("page.xml", b"<html><body>hello</body></html>")


# --- storing ---------------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_store_attachment_keeps_the_file_under_a_random_name_and_audits(case, users, media):
    content = png_bytes()
    attachment = store_attachment(case, users["patient"], upload("../../My Knee.pdf", content))
    attachment.refresh_from_db()
    assert (attachment.kind, attachment.content_type, attachment.size) == ("png", "image/png", len(content))
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert attachment.original_name == "My Knee.pdf"
    assert "Knee" not in attachment.file.name
    assert attachment.file.name.startswith(f"cases/{case.hospital_id}/{case.pk}/")
    with attachment.file.open("rb") as stored:
        assert stored.read() == content
    event = AuditEvent.objects.get(action="case.attachment.add")
    assert event.hospital_id == case.hospital_id and event.detail["kind"] == "png"


def test_store_attachment_with_a_message_and_as_a_staff_note(case, users, media):
    message = Message.objects.create(case=case, author=users["coordinator"], body="See the scan.", internal=True)
    attachment = store_attachment(
        case, users["coordinator"], upload("scan.pdf", handmade_pdf()), message=message, internal=True
    )
    assert attachment.message == message and attachment.internal


def test_a_refused_file_stores_nothing(case, users, media):
    with pytest.raises(InvalidInput):
        store_attachment(case, users["patient"], upload("report.pdf", exe_bytes()))
    assert not Attachment.objects.exists()
    assert stored_files(media) == []
    assert not AuditEvent.objects.filter(action="case.attachment.add").exists()


def test_a_message_of_another_case_is_refused(case, users, other_patient, media):
    other_case = make_case(other_patient, case.hospital)
    message = Message.objects.create(case=other_case, author=users["coordinator"], body="Hello")
    with pytest.raises(InvalidInput) as caught:
        store_attachment(case, users["coordinator"], upload("scan.pdf", handmade_pdf()), message=message)
    assert caught.value.field == "message"
    assert stored_files(media) == []


def test_a_large_upload_spooled_to_disk_is_checked_and_stored(case, users, media):
    content = zip_bytes({f"SERIES/IM{n}": dicom_bytes(bytes(range(256)) * 40) for n in range(30)})
    spooled = TemporaryUploadedFile("ct.zip", "application/zip", len(content), None)
    spooled.write(content)
    spooled.seek(0)
    attachment = store_attachment(case, users["patient"], spooled)
    assert attachment.kind == "dicom_zip"
    with attachment.file.open("rb") as stored:
        assert stored.read() == content
    spooled.close()


def test_display_name_drops_folders_and_control_characters():
    assert display_name("C:\\Users\\me\\scan\x00.pdf") == "scan.pdf"
    assert display_name("") == "attachment"
    long = "a" * 300 + ".pdf"
    assert len(display_name(long)) == 200 and display_name(long).endswith(".pdf")


def utf16(text: str) -> bytes:
    return text.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16")


def test_a_doctype_is_refused_in_utf16_too():
    content = utf16(
        '<?xml version="1.0"?><!DOCTYPE b [<!ENTITY a "aaaa">]><Bundle xmlns="http://hl7.org/fhir">&a;</Bundle>'
    )
    assert b"<!DOCTYPE" not in content  # the byte scan this replaces saw nothing here
    assert "document type declaration" in str(refusal("ips.xml", content).message)


def test_a_real_summary_in_utf16_is_read():
    text = (IPS_DIR / "hl7-IPS-bundle-01.xml").read_text(encoding="utf-8")
    if not text.startswith("<?xml"):
        text = '<?xml version="1.0"?>' + text
    content = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert check_upload(upload("ips.xml", content))[0] == "ips"
