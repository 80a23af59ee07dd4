"""The hospital admin sets capacity and the international share; the coordinator books an MRI within the
quota, reads the utilisation dashboard, and is offered the nearest days when the day is full."""

import datetime
import re

from playwright.sync_api import expect

from tests.browser.conftest import DEMO_HOSPITAL, screenshot, sign_in
from tests.builders import make_case

MRI = "HIDH-RAD-MRI-1"


def accepted_cases(count):
    """Accepted cases of the demo patient at Huangpu about the MRI (the demo has none accepted)."""
    from laihua.accounts.models import User
    from laihua.catalog.models import CatalogItem
    from laihua.hospitals.models import Hospital

    hospital = Hospital.objects.get(slug=DEMO_HOSPITAL)
    patient = User.objects.get(username="demo-patient").patient
    mri = CatalogItem.objects.get(hospital=hospital, code=MRI)
    return [
        make_case(patient, hospital, state="accepted", services=[mri], description="Knee MRI.").reference
        for _ in range(count)
    ]


def book(page, reference, day):
    page.goto("/en/capacity/book/")
    page.fill("input[name=case]", reference)
    page.select_option("select[name=item]", MRI)
    page.fill("input[name=day]", day.isoformat())
    page.get_by_role("button", name="Book", exact=True).click()


def test_admin_sets_capacity_and_coordinator_books_within_the_quota(page):
    first, second = accepted_cases(2)
    day = datetime.date.today() + datetime.timedelta(days=7)

    # The hospital admin: a share above the platform maximum is refused; a lower share is kept;
    # the MRI's capacity on one day goes down to 10 scans, so 1 international place (10 x 10%).
    sign_in(page, "huangpu-admin")
    page.get_by_role("link", name="Capacity").click()
    expect(page).to_have_url(re.compile(r"/capacity/$"))
    ct = page.locator("#resource-ct")
    ct.locator("input[name=share]").fill("0.25")
    ct.locator("form:has(input[name=what][value=share]) button").click()
    expect(page.locator("ul.messages")).to_contain_text("platform maximum")
    ct = page.locator("#resource-ct")
    ct.locator("input[name=share]").fill("0.05")
    ct.locator("form:has(input[name=what][value=share]) button").click()
    expect(page.locator("ul.messages")).to_contain_text("Saved: ct.")
    expect(page.locator("#resource-ct")).to_contain_text("0.05")
    mri_day = page.locator("#resource-mri form:has(input[name=what][value=day])")
    mri_day.locator("input[name=day]").fill(day.isoformat())
    mri_day.locator("input[name=capacity]").fill("10")
    mri_day.locator("input[name=note]").fill("Scanner 2 in maintenance")
    mri_day.get_by_role("button", name="Save the day").click()
    expect(page.locator("ul.messages")).to_contain_text("Saved: mri.")
    screenshot(page, "capacity-resources-en")

    # The coordinator books the MRI for the first case on that day: the one international place.
    sign_in(page, "huangpu-coord")
    page.get_by_role("link", name="Capacity").click()
    expect(page.locator("#resource-mri form")).to_have_count(0)  # coordinators read, not edit
    page.get_by_role("link", name="Book a service").first.click()
    book(page, first, day)
    expect(page.locator("#booked")).to_contain_text(f"{day.isoformat()} · mri ×1")
    expect(page.locator("ul.messages")).to_contain_text(f"Booked for {first}.")
    screenshot(page, "capacity-book-en")

    # The dashboard shows the day full: 1 booked of a cap of 1.
    page.goto(f"/en/capacity/utilisation/?month={day:%Y-%m}")
    mri_card = page.locator("section#resource-mri")
    row = mri_card.locator("tr", has_text=day.isoformat())
    expect(row).to_contain_text("full")
    expect(row.locator("td").nth(2)).to_have_text("1")  # cap
    expect(row.locator("td").nth(3)).to_have_text("1")  # booked
    screenshot(page, "capacity-utilisation-en")

    # The second case cannot have that day: refused, with the nearest days that have room.
    book(page, second, day)
    error = page.locator("#book-error")
    expect(error).to_contain_text(f"The international quota is full for this service on {day.isoformat()}")
    nearest = error.locator("button[name=day]")
    expect(nearest.first).to_be_visible()
    offered = [datetime.date.fromisoformat(text.strip()) for text in nearest.all_inner_texts()]
    assert day not in offered
    assert all(abs((other - day).days) <= 3 for other in offered), offered
    expect(page.locator("#join-waitlist")).to_be_visible()
    screenshot(page, "capacity-full-en")

    # Taking one of the offered days books it.
    nearest.first.click()
    expect(page.locator("#booked")).to_contain_text(f"{offered[0].isoformat()} · mri ×1")
    expect(page.locator("ul.messages")).to_contain_text(f"Booked for {second}.")

    # The second case's own page lists its booking; cancelling gives the place back.
    page.goto(f"/en/capacity/cases/{second}/")
    booking = page.locator("#bookings tbody tr").first
    expect(booking).to_contain_text(offered[0].isoformat())
    screenshot(page, "capacity-case-en")
    booking.get_by_role("button", name="Cancel this booking").click()
    expect(page.locator("ul.messages")).to_be_visible()
    booking = page.locator("#bookings tbody tr").first
    expect(booking).to_contain_text("Cancelled")
    expect(booking.get_by_role("button", name="Cancel this booking")).to_have_count(0)
