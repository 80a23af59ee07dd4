"""Records that cross borders, in the browser.

The demo patient finds the summary their home doctor sent (imported, with Chinese translations from the
term list), imports another IPS (the HL7 XML example, written for them) and consents to their family
doctor receiving their records. The hospital's clinician sees a refused document with every problem and
its location, and another person's summary refused with what differs, completes the discharge summary
and downloads the IPS and the PDF. The coordinator adds the hospital's translation to the term list, and
sends the records to the consented doctor, and is refused for anybody else.
"""

import datetime
import json
import re
from pathlib import Path

from django.core import mail
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_case_journey import download, pdf_text, sign_in, sign_out

DATA = Path(__file__).resolve().parents[2] / "src" / "laihua" / "records" / "tests" / "data"


def demo_case():
    from laihua.cases.models import Case

    return Case.objects.select_related("hospital").filter(patient__user__username="demo-patient").order_by("pk").first()


def staff_name(case, suffix: str) -> str:
    from laihua.accounts.models import User

    return User.objects.get(username__endswith=f"-{suffix}", hospital=case.hospital).username


def written_for(patient, name: str, folder: Path) -> Path:
    """The HL7 XML example with the patient's name, birth date and sex: a summary of theirs."""
    from laihua.kit.fhirxml import to_xml, xml_to_dict

    document = xml_to_dict((DATA / name).read_bytes())
    for entry in document["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["name"] = [{"family": patient.family_name, "given": patient.given_names.split()}]
            entry["resource"]["birthDate"] = patient.date_of_birth.isoformat()
            entry["resource"]["gender"] = {"F": "female", "M": "male"}.get(patient.sex, "other")
            entry["resource"].pop("identifier", None)
    path = folder / name
    path.write_bytes(to_xml(document))
    return path


def test_records_journey(page, tmp_path):
    from laihua.kit import clock
    from laihua.records.models import Consent, IpsDocument

    case = demo_case()
    reference = case.reference

    # the patient: the summary from home, an import, and a consent
    sign_in(page, "demo-patient")
    page.get_by_role("link", name="Records").click()
    page.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", name="Patient summary")).to_be_visible()
    expect(page.locator("#summary")).to_contain_text("Menopausal flushing (finding)")
    expect(page.locator("#summary")).to_contain_text("更年期潮热")
    page.set_input_files("#ips-file", str(written_for(case.patient, "hl7-IPS-bundle-with-immunization.xml", tmp_path)))
    page.get_by_role("button", name="Import").first.click()
    expect(page.get_by_text("The summary was imported with 14 items.")).to_be_visible()
    expect(page.locator("#summary")).to_contain_text("Hemoglobin A1c")
    screenshot(page, "records-patient-summary")

    page.fill("#c-name", "Dr. Ana Home, family doctor")
    page.fill("#c-email", "ana.home@clinic.example")
    page.fill("#c-purpose", "Follow-up care at home")
    page.get_by_label("Patient summary (IPS)").check()
    page.fill("#c-end", (clock.today() + datetime.timedelta(days=60)).isoformat())
    page.get_by_role("button", name="I consent").click()
    expect(page.get_by_text("Your consent was recorded.")).to_be_visible()
    expect(page.locator("#consents")).to_contain_text("ana.home@clinic.example")
    screenshot(page, "records-consent")
    sign_out(page)

    # the clinician: a refused document, the discharge summary, the downloads
    sign_in(page, staff_name(case, "doctor"))
    page.goto(f"/en/records/cases/{reference}/")
    broken = json.loads((DATA / "hl7-bundle-minimal.json").read_text())
    del broken["timestamp"]
    broken["entry"][4]["resource"]["subject"] = {"reference": "Patient/unknown"}
    bad = tmp_path / "broken-ips.json"
    bad.write_text(json.dumps(broken))
    documents = IpsDocument.objects.count()
    page.set_input_files("#ips-file", str(bad))
    page.get_by_role("button", name="Import").first.click()
    error = page.locator("#records-error")
    expect(error).to_contain_text("“broken-ips.json” was refused; nothing was stored.")
    expect(error).to_contain_text("Bundle.timestamp")
    expect(error).to_contain_text("Bundle.entry[4].resource.subject")
    screenshot(page, "records-import-refused")
    assert IpsDocument.objects.count() == documents

    page.set_input_files("#ips-file", str(DATA / "hl7-bundle-minimal.json"))  # Martha DeLarosa's, born 1972
    page.get_by_role("button", name="Import").first.click()
    expect(page.locator("#records-error")).to_contain_text("“hl7-bundle-minimal.json” is about someone else")
    expect(page.locator("#patient-mismatch")).to_contain_text("1972-05-01")
    expect(page.locator("#match-reason")).to_be_visible()
    assert IpsDocument.objects.count() == documents

    sign_out(page)

    # the coordinator translates for the hospital (clinicians read the term list; they do not change it)
    sign_in(page, staff_name(case, "coord"))
    page.goto(f"/en/records/cases/{reference}/")
    page.locator("#summary tr", has_text="Hemoglobin A1c").get_by_role("link", name="Translate").click()
    page.fill("#t-zh", "糖化血红蛋白")
    page.get_by_role("button", name="Save translation").click()
    expect(page.locator("#summary")).to_contain_text("糖化血红蛋白")
    page.goto("/en/records/terms/")
    screenshot(page, "records-term-list")
    sign_out(page)

    sign_in(page, staff_name(case, "doctor"))
    page.goto(f"/en/records/cases/{reference}/")
    page.get_by_role("link", name="Discharge summary").click()
    page.fill("input[name=dx_code]", "S83.2")
    page.fill("input[name=dx_text]", "Tear of meniscus, right knee")
    page.get_by_role("button", name="Add a diagnosis").click()  # a line added by htmx, then removed
    expect(page.locator("#rows-diagnoses .summary-row")).to_have_count(2)
    page.locator("#rows-diagnoses .summary-row").nth(1).get_by_role("button", name="Remove this line").click()
    expect(page.locator("#rows-diagnoses .summary-row")).to_have_count(1)
    page.get_by_role("button", name="Add a procedure").click()
    page.fill("input[name=pr_text]", "Arthroscopic partial meniscectomy")
    page.fill("input[name=pr_date]", clock.today().isoformat())
    page.fill("input[name=med_text]", "Ibuprofen")
    page.fill("input[name=med_dose]", "400")
    page.select_option("select[name=med_unit]", "mg")
    page.select_option("select[name=med_route]", "oral")
    page.fill("input[name=med_frequency]", "3")
    page.fill("input[name=med_duration_days]", "5")
    page.fill("input[name=fu_date]", clock.today().isoformat())
    page.fill("input[name=fu_text]", "Orthopaedic check")
    page.fill("#plan_of_care", "Physiotherapy twice a week for 6 weeks")
    page.fill("#plan_of_care_second", "每周两次物理治疗，共6周")
    screenshot(page, "records-discharge-summary")
    page.get_by_role("button", name="Complete at discharge").click()
    expect(page.get_by_text("The discharge summary was saved.")).to_be_visible()
    bundle = json.loads(download(page, page.get_by_role("link", name="Download IPS (FHIR JSON)")))
    conditions = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition"]
    assert any(c["code"]["coding"][0].get("code") == "S83.2" for c in conditions)
    text = pdf_text(download(page, page.get_by_role("link", name="Download PDF")))
    assert "S83.2" in text and "Dischargesummary" in text and "糖化血红蛋白" in text
    sign_out(page)

    # the coordinator: refused without consent, sent with it
    sign_in(page, staff_name(case, "coord"))
    page.goto(f"/en/records/cases/{reference}/")
    page.fill("#s-email", "someone.else@insurer.example")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(
        page.get_by_text("The patient has not consented to sending these records to this recipient.")
    ).to_be_visible()
    page.fill("#s-email", "ana.home@clinic.example")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("A link to the records was sent to ana.home@clinic.example")).to_be_visible()
    assert Consent.objects.filter(recipient_email="ana.home@clinic.example", transfers__isnull=False).exists()
    link = re.search(r"https?://\S+/shared/\S+/", mail.outbox[-1].body).group(0)
    sign_out(page)

    # the doctor at home: the page without signing in, at a phone's width; the link alone shows no records,
    # a code sent to the doctor's address opens them in this browser
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(link[link.index("/shared/") :])
    expect(page.locator("h1")).to_contain_text("Medical records shared with you")
    expect(page.locator("main")).to_contain_text("a***@clinic.example")
    expect(page.locator("main")).not_to_contain_text("Ibuprofen")
    sent = len(mail.outbox)
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_label("Code from the e-mail")).to_be_visible()
    assert len(mail.outbox) == sent + 1 and mail.outbox[-1].to == ["ana.home@clinic.example"]
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "records-shared-code")
    page.get_by_label("Code from the e-mail").fill(code)
    page.get_by_role("button", name="Open the records").click()
    expect(page.locator("main")).to_contain_text("Ibuprofen")
    assert json.loads(download(page, page.get_by_role("link", name="Download IPS (FHIR JSON)")))["entry"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "records-shared-link")
