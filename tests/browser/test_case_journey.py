"""The international patient's case, from the first inquiry to the papers for the visa.

A new patient registers from a service page and asks the Huangpu demo hospital about an MRI with a PDF
attached; the coordinator triages the case and sends a quote; the patient sees it in US dollars and
accepts it; the coordinator issues the invitation letter; the patient downloads the quote and the letter,
whose text must carry both the Chinese and the English lines.
"""

import datetime
import io
import re

from playwright.sync_api import expect

from tests.browser.conftest import screenshot

PASSWORD = "laihua-demo-2026"
HUANGPU = "huangpu-international-demo"
HUANGPU_ZH = "黄浦国际示范医院"
MRI_CODE = "HIDH-RAD-MRI-1"
MRI_EN = "MRI scan, one region, without contrast"
MRI_ZH = "磁共振成像（MRI），单部位，平扫"

PATIENT_EMAIL = "maya.okafor@example.com"
PATIENT_PASSWORD = "Harbour-lantern-7391"
PASSPORT = "A12345678"


def today() -> datetime.date:
    from laihua.kit import clock

    return clock.today()


def sign_in(page, username, password=PASSWORD):
    page.goto("/en/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()


def pdf_text(data: bytes) -> str:
    """The PDF's text without any whitespace: table cells wrap lines wherever they like."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return squash("\n".join(page.extract_text() or "" for page in reader.pages))


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def download(page, link) -> bytes:
    with page.expect_download() as info:
        link.click()
    path = info.value.path()
    with open(path, "rb") as handle:
        return handle.read()


def chinese(text: str) -> str:
    """The Chinese translation of one of the software's strings, or the English one if none exists yet."""
    from django.utils import translation

    with translation.override("zh-hans"):
        return str(translation.gettext(text))


def confirm_from_the_e_mail(page):
    """Open the link of the confirmation e-mail (the live server runs in this process: its outbox is here)."""
    from django.core import mail

    expect(page.locator("h1")).to_have_text("Check your e-mail")
    link = re.search(r"https?://[^/\s]+(/\S+/register/confirm/\S+)", mail.outbox[-1].body).group(1)
    page.goto(link)
    page.get_by_role("button", name="Confirm and sign in").click()


def register_and_ask_about_the_mri(page, tmp_path) -> str:
    """A new patient registers from the MRI's public page and sends the inquiry; returns the case reference."""
    from weasyprint import HTML

    referral = tmp_path / "referral-knee.pdf"
    HTML(string="<h1>Referral</h1><p>Right knee pain for six months; MRI of the knee requested.</p>").write_pdf(
        referral
    )

    page.goto(f"/en/hospitals/{HUANGPU}/services/{MRI_CODE}/?currency=USD")
    page.get_by_role("link", name="Ask about this service").click()
    expect(page).to_have_url(re.compile(r"/en/patients/register/\?next="))

    page.fill("input[name=family_name]", "Okafor")
    page.fill("input[name=given_names]", "Maya Grace")
    page.select_option("select[name=sex]", "F")
    page.fill("input[name=date_of_birth]", "1979-04-12")
    page.select_option("select[name=nationality]", "US")
    page.fill("input[name=passport_number]", "a1234 5678")  # spaces removed, letters upper-cased
    page.fill("input[name=passport_expiry]", (today() + datetime.timedelta(days=5 * 365)).isoformat())
    page.fill("input[name=email]", PATIENT_EMAIL)
    page.fill("input[name=phone]", "+1 212 555 0100")
    page.fill("textarea[name=address]", "12 Harbour Street, Boston, MA 02110, United States")
    page.fill("input[name=emergency_name]", "Daniel Okafor")
    page.fill("input[name=emergency_relation]", "husband")
    page.fill("input[name=emergency_phone]", "+1 212 555 0101")
    page.select_option("select[name=preferred_currency]", "USD")
    page.fill("input[name=password1]", PATIENT_PASSWORD)
    page.fill("input[name=password2]", PATIENT_PASSWORD)
    screenshot(page, "case-register-en")
    page.get_by_role("button", name="Create my account").click()
    confirm_from_the_e_mail(page)

    # Back to the inquiry form, the MRI and its hospital already chosen.
    expect(page).to_have_url(re.compile(r"/en/cases/new/\?item=\d+"))
    expect(page.locator("main .messages")).to_contain_text("your account is ready")
    mri = page.get_by_role("checkbox", name=re.compile(re.escape(MRI_EN)))
    expect(mri).to_be_checked()
    expect(page.locator(f"input[name=hospitals][value={HUANGPU}]")).to_be_checked()
    page.fill("textarea[name=description]", "Right knee pain for six months after a fall; my doctor asks for an MRI.")
    page.fill("input[name=desired_arrival]", (today() + datetime.timedelta(days=30)).isoformat())
    page.fill("input[name=desired_departure]", (today() + datetime.timedelta(days=37)).isoformat())
    page.set_input_files("input[name=files]", str(referral))
    screenshot(page, "case-inquiry-en")
    page.get_by_role("button", name="Send the inquiry").click()

    expect(page).to_have_url(re.compile(r"/en/cases/[^/]+/$"))
    expect(page.locator("#case-state")).to_have_text("Inquiry")
    expect(page.locator("main")).to_contain_text("referral-knee.pdf")
    reference = re.search(r"/en/cases/([^/]+)/$", page.url).group(1)
    expect(page.locator("h1")).to_contain_text(reference)
    return reference


def coordinator_triages_and_sends_a_quote(page, reference: str):
    sign_in(page, "huangpu-coord")
    expect(page).to_have_url(re.compile(r"/en/cases/"))
    row = page.locator("table.board-table tbody tr", has_text=reference)
    expect(row).to_contain_text("OKAFOR Maya Grace")
    expect(row).to_contain_text("United States")
    expect(row).to_contain_text(MRI_EN)
    expect(row).to_contain_text("Inquiry")
    expect(row.locator(".badge")).to_contain_text("due in")
    screenshot(page, "case-board-en")

    row.get_by_role("link", name=reference).click()
    expect(page.locator("main")).to_contain_text("referral-knee.pdf")
    expect(page.locator("main")).to_contain_text("••••••678")  # the passport is shown masked to staff
    expect(page.locator("main")).not_to_contain_text(PASSPORT)
    page.get_by_role("button", name="Move to “Triage”").click()
    expect(page.locator("#case-state")).to_have_text("Triage")

    page.get_by_role("button", name="New quote").click()
    expect(page.locator("h1")).to_contain_text("Quote")
    requested = page.locator("section", has=page.get_by_role("heading", name="Asked about by the patient"))
    requested.locator("li", has_text=MRI_EN).get_by_role("button", name="Add").click()
    lines = page.locator("#quote-lines")
    expect(lines.locator("table.quote-lines tbody tr")).to_have_count(1)
    expect(lines).to_contain_text(MRI_EN)
    expect(lines).to_contain_text(MRI_ZH)

    # A discount with its reason on the MRI line.
    mri_row = lines.locator("table.quote-lines tbody tr").first
    mri_row.locator("input[name=discount_percent]").fill("10")
    mri_row.locator("input[name=discount_reason]").fill("Second opinion programme")
    mri_row.get_by_role("button", name="Save").click()
    expect(lines).to_contain_text("−")

    # A line the catalog does not list, priced by hand.
    page.fill("#m-description-en", "Interpreter, half a day")
    page.fill("#m-description-zh", "陪同翻译，半天")
    page.fill("#m-unit", "300")
    page.get_by_role("button", name="Add the line").click()
    expect(lines.locator("table.quote-lines tbody tr")).to_have_count(2)
    expect(lines).to_contain_text("priced by hand")

    page.fill("#valid_until", (today() + datetime.timedelta(days=14)).isoformat())
    page.fill("#deposit", "500")
    expect(page.locator("#quote-currency")).to_have_value("USD")
    page.fill("#exclusions_en", "Contrast agent and any further imaging.")
    page.fill("#exclusions_zh-hans", "造影剂及其他影像检查。")
    page.get_by_role("button", name="Save the terms").click()
    expect(page.locator("main .messages")).to_contain_text("The terms are saved")
    expect(page.locator("#quote-totals")).to_contain_text("$")
    expect(page.locator(".rate-line")).to_contain_text("1 USD = ")
    screenshot(page, "case-quote-builder-en")

    page.get_by_role("button", name="Send the quote").click()
    expect(page.locator("main .messages")).to_contain_text("is sent")
    expect(page.locator("h1")).to_contain_text("Sent")
    sign_out(page)


def patient_accepts_the_quote_in_usd(page, reference: str):
    from django.utils import formats, translation

    from laihua.kit.money import Money
    from laihua.quotes.models import Quote

    sign_in(page, PATIENT_EMAIL, PATIENT_PASSWORD)
    page.goto(f"/en/cases/{reference}/")
    expect(page.locator("#case-state")).to_have_text("Quoted")
    quote = Quote.objects.get(case__reference=reference, status="sent")
    page.locator("#quotes").get_by_role("link", name=quote.number).click()

    assert quote.currency == "USD" and quote.total_converted is not None and quote.rate_date is not None
    with translation.override("en"):
        total_usd = Money(quote.total_converted, "USD").format()
        deposit_usd = Money(quote.deposit_converted, "USD").format()
        rate_date = formats.date_format(quote.rate_date, "DATE_FORMAT")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(total_usd)
    expect(facts).to_contain_text(deposit_usd)
    expect(page.locator("#quote-totals")).to_contain_text(total_usd)
    rate_line = page.locator(".rate-line")
    expect(rate_line).to_contain_text(re.compile(r"1 USD = [\d.]+ CNY"))
    expect(rate_line).to_contain_text(rate_date)
    expect(page.locator("main")).to_contain_text("Second opinion programme")
    expect(page.locator("main")).to_contain_text("priced by hand")
    expect(page.locator("main")).to_contain_text("Contrast agent and any further imaging.")
    screenshot(page, "case-quote-patient-en")

    page.get_by_role("button", name="Accept the quote").click()
    expect(page.locator("main .messages")).to_contain_text("You accepted the quote")
    expect(page.locator("main")).to_contain_text("this quote is frozen as accepted")
    expect(page.get_by_role("button", name="Accept the quote")).to_have_count(0)
    screenshot(page, "case-accepted-en")
    page.goto(f"/en/cases/{reference}/")
    expect(page.locator("#case-state")).to_have_text("Accepted")
    sign_out(page)
    return quote.number


def coordinator_issues_the_letter(page, reference: str):
    sign_in(page, "huangpu-coord")
    page.goto(f"/en/cases/{reference}/")
    expect(page.locator("#case-state")).to_have_text("Accepted")
    page.get_by_role("link", name="Issue the invitation letter").click()
    expect(page.locator("h1")).to_have_text("Issue the invitation letter")
    # The form starts from the inquiry: the desired dates and the service asked about.
    expect(page.locator("input[name=arrival]")).to_have_value((today() + datetime.timedelta(days=30)).isoformat())
    expect(page.locator("input[name=departure]")).to_have_value((today() + datetime.timedelta(days=37)).isoformat())
    expect(page.locator("textarea[name=purpose]")).to_contain_text("MRI")
    screenshot(page, "case-letter-en")
    page.get_by_role("button", name="Issue the letter").click()
    expect(page).to_have_url(re.compile(rf"/en/cases/{re.escape(reference)}/"))
    expect(page.locator("main .messages")).to_contain_text("is issued")
    expect(page.locator("#travel")).to_contain_text("Invitation letter")
    sign_out(page)


def test_patient_inquiry_to_quote_accepted_and_invitation_letter(page, tmp_path):
    reference = register_and_ask_about_the_mri(page, tmp_path)
    sign_out(page)
    coordinator_triages_and_sends_a_quote(page, reference)
    quote_number = patient_accepts_the_quote_in_usd(page, reference)
    coordinator_issues_the_letter(page, reference)

    # The patient downloads both PDFs from the case page.
    sign_in(page, PATIENT_EMAIL, PATIENT_PASSWORD)
    page.goto(f"/en/cases/{reference}/")
    timeline = page.locator("ol.timeline")
    for line in ("Inquiry sent", "Moved from “Triage” to “Quoted”", "Quote sent", "Quote accepted"):
        expect(timeline).to_contain_text(line)
    expect(timeline).to_contain_text("Invitation letter issued")
    quote_pdf = download(page, page.locator("#quotes").get_by_role("link", name="Download"))
    letter_pdf = download(
        page, page.locator("#travel").get_by_role("link", name=re.compile("Invitation letter .* \\(PDF\\)"))
    )
    assert quote_pdf.startswith(b"%PDF") and letter_pdf.startswith(b"%PDF")

    quote_text = pdf_text(quote_pdf)
    for line in ("Quote", quote_number, "OKAFOR Maya Grace", MRI_EN, "Interpreter, half a day", "USD"):
        assert squash(line) in quote_text, (line, quote_text)
    for line in (
        HUANGPU_ZH,
        MRI_ZH,
        "陪同翻译，半天",
        "造影剂及其他影像检查。",
        chinese("Quote"),
        chinese("Deposit to confirm"),
    ):
        assert squash(line) in quote_text, (line, quote_text)

    letter_text = pdf_text(letter_pdf)
    for line in ("Letter of Invitation", "OKAFOR Maya Grace", PASSPORT, "Huangpu International Demo Hospital"):
        assert squash(line) in letter_text, (line, letter_text)
    for line in ("邀请函", "被邀请人信息", "护照号码", HUANGPU_ZH, "美国"):
        assert squash(line) in letter_text, (line, letter_text)

    # The same case page in Chinese.
    page.goto(f"/zh-hans/cases/{reference}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("main")).to_contain_text(HUANGPU_ZH)
    expect(page.locator("#case-state")).to_have_text(chinese("Accepted"))
    for line in ("Quote sent", "Quote accepted", "Invitation letter issued"):
        expect(page.locator("ol.timeline")).to_contain_text(chinese(line))
    screenshot(page, "case-page-zh")


def test_patient_reads_where_the_case_stands_in_chinese(page):
    """The demo patient's case page in Chinese: the page, the hospital and the case's state in Chinese
    (the state's English name only while its translation is missing)."""
    from django.utils import translation

    from laihua.cases.models import Case
    from laihua.cases.states import State

    case = Case.objects.filter(patient__user__username="demo-patient", hospital__slug=HUANGPU).first()
    assert case is not None, "the demo gives demo-patient a case at the Huangpu hospital"
    with translation.override("en"):
        english = str(State(case.state).label)
    label = chinese(english)
    sign_in(page, "demo-patient")
    page.goto(f"/zh-hans/cases/{case.reference}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("main")).to_contain_text(HUANGPU_ZH)
    expect(page.locator("#case-state")).to_have_text(label)
    if label != english:  # translated: no English left in the state's badge
        expect(page.locator("#case-state")).not_to_have_text(re.compile(r"[A-Za-z]"))
