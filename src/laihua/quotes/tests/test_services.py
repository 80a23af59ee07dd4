import datetime
from decimal import Decimal

import pytest
from django.core import mail

from laihua.audit.models import AuditEvent
from laihua.cases.models import Case
from laihua.cases.services import move
from laihua.catalog.models import Price
from laihua.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied, RateUnavailable
from laihua.kit import clock, requestctx
from laihua.quotes import services
from laihua.quotes.models import Quote, Status
from tests.builders import make_case, make_item, make_patient

pytestmark = pytest.mark.django_db

TODAY = clock.today


def days(n):
    return clock.today() + datetime.timedelta(days=n)


# --- building a draft -----------------------------------------------------------------------------


def test_a_draft_takes_its_number_currency_and_language_from_the_case(draft, triage_case):
    assert draft.number == f"{triage_case.reference}-Q1"
    assert draft.revision == 1 and draft.status == Status.DRAFT
    assert draft.currency == "USD" and draft.language == "en"
    assert draft.total_cny == Decimal("972.00")
    assert AuditEvent.objects.filter(action="quote.create", object_id=str(draft.pk)).exists()
    assert triage_case.events.filter(kind="quote_draft", staff_only=True).exists()


def test_a_catalog_line_copies_the_item_text_and_price(draft, mri):
    line = draft.lines.get()
    assert line.code == "MRI-01" and not line.manual
    assert line.description == {"en": "MRI scan, one region", "zh-hans": "核磁共振成像（单部位）"}
    assert line.unit_price_cny == Decimal("486.00") and line.amount_cny == Decimal("972.00")
    mri.name = {"en": "Renamed", "zh-hans": "改名"}
    mri.save()
    line.refresh_from_db()
    assert line.description["en"] == "MRI scan, one region"


def test_a_fixed_catalog_price_cannot_be_changed(draft, users, mri):
    with pytest.raises(InvalidInput) as error:
        services.add_line(users["coordinator"], draft, {"item": mri.pk, "unit_price": "400"})
    assert error.value.field == "unit_price"
    assert draft.lines.count() == 1


def test_a_range_price_is_chosen_within_the_range_and_refused_outside(draft, users, knee):
    coordinator = users["coordinator"]
    with pytest.raises(InvalidInput) as missing:
        services.add_line(coordinator, draft, {"item": knee.pk})
    assert missing.value.field == "unit_price"
    with pytest.raises(InvalidInput) as outside:
        services.add_line(coordinator, draft, {"item": knee.pk, "unit_price": "45000.01"})
    assert outside.value.field == "unit_price"
    line = services.add_line(coordinator, draft, {"item": knee.pk, "unit_price": "38000"})
    assert line.unit_price_cny == Decimal("38000.00") and line.is_range
    assert line.excluded == {"en": "Implants", "zh-hans": "植入物"}
    with pytest.raises(InvalidInput):
        services.update_line(coordinator, draft, line.pk, {"unit_price": "29999.99"})


def test_a_package_line_lists_its_contents(draft, users, checkup):
    line = services.add_line(users["coordinator"], draft, {"item": checkup.pk})
    assert line.package
    assert line.components == [
        {"code": "MRI-01", "name": {"en": "MRI scan, one region", "zh-hans": "核磁共振成像（单部位）"}, "quantity": 1}
    ]
    assert line.included["zh-hans"] == "血液检查、核磁共振、报告"


def test_a_manual_line_is_marked_and_needs_both_languages(draft, users):
    coordinator = users["coordinator"]
    with pytest.raises(InvalidInput) as error:
        services.add_line(coordinator, draft, {"description": {"en": "Interpreter"}, "unit_price": "600"})
    assert error.value.field == "description"
    line = services.add_line(
        coordinator,
        draft,
        {"description": {"en": "Interpreter", "zh-hans": "翻译"}, "unit_price": "600", "quantity": 2, "code": "INT"},
    )
    assert line.manual and line.item is None and line.amount_cny == Decimal("1200.00")
    draft.refresh_from_db()
    assert draft.total_cny == Decimal("2172.00")


def test_a_discount_needs_a_reason(draft, users):
    line = draft.lines.get()
    with pytest.raises(InvalidInput) as error:
        services.update_line(users["coordinator"], draft, line.pk, {"discount_percent": "10"})
    assert error.value.field == "discount_reason"
    line.refresh_from_db()
    assert line.discount_cny == 0


def test_a_percentage_discount_rounds_half_up_to_the_fen(draft, users):
    line = draft.lines.get()
    line = services.update_line(
        users["coordinator"],
        draft,
        line.pk,
        {"quantity": 1, "discount_percent": "12.5", "discount_reason": "Returning patient"},
    )
    # 486.00 × 12.5 % = 60.75
    assert (line.gross_cny, line.discount_cny, line.amount_cny) == (
        Decimal("486.00"),
        Decimal("60.75"),
        Decimal("425.25"),
    )
    line = services.update_line(users["coordinator"], draft, line.pk, {"discount_percent": "0.01"})
    # 486.00 × 0.01 % = 0.0486 -> 0.05
    assert line.discount_cny == Decimal("0.05")
    draft.refresh_from_db()
    assert draft.total_cny == line.amount_cny == Decimal("485.95")


def test_a_fixed_discount_cannot_exceed_the_line_or_come_with_a_percentage(draft, users):
    line = draft.lines.get()
    coordinator = users["coordinator"]
    with pytest.raises(InvalidInput) as too_much:
        services.update_line(coordinator, draft, line.pk, {"discount_amount": "972.01", "discount_reason": "x"})
    assert too_much.value.field == "discount_amount"
    with pytest.raises(InvalidInput) as both:
        services.update_line(
            coordinator, draft, line.pk, {"discount_amount": "10", "discount_percent": "5", "discount_reason": "x"}
        )
    assert both.value.field == "discount_amount"
    line = services.update_line(coordinator, draft, line.pk, {"discount_amount": "72", "discount_reason": "Charity"})
    assert line.amount_cny == Decimal("900.00")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "1000"}, "quantity"),
        ({"quantity": "two"}, "quantity"),
        ({"discount_percent": "101", "discount_reason": "x"}, "discount_percent"),
        ({"discount_amount": "-1", "discount_reason": "x"}, "discount_amount"),
    ],
)
def test_bad_line_input_names_the_field_and_changes_nothing(draft, users, data, field):
    line = draft.lines.get()
    with pytest.raises(InvalidInput) as error:
        services.update_line(users["coordinator"], draft, line.pk, data)
    assert error.value.field == field
    line.refresh_from_db()
    assert line.quantity == 2 and line.amount_cny == Decimal("972.00")


def test_another_hospitals_item_cannot_be_quoted(draft, users, other_hospital):
    foreign = make_item(other_hospital, code="MRI-W")
    with pytest.raises(InvalidInput) as error:
        services.add_line(users["coordinator"], draft, {"item": foreign.pk})
    assert error.value.field == "item"


def test_an_unknown_currency_is_refused_when_the_draft_is_opened(triage_case, users):
    with pytest.raises(InvalidInput) as error:
        services.create_draft(users["coordinator"], triage_case, {"currency": "ZZZ"})
    assert error.value.field == "currency"
    assert not Quote.objects.exists()


def test_a_case_still_in_inquiry_cannot_be_quoted(case, users, rates_today):
    with pytest.raises(Conflict) as error:
        services.create_draft(users["coordinator"], case)
    assert error.value.code == "case_not_quotable"


def test_only_one_draft_at_a_time(draft, triage_case, users):
    with pytest.raises(Conflict) as error:
        services.create_draft(users["hospital_admin"], triage_case)
    assert error.value.code == "draft_exists"


# --- who may build --------------------------------------------------------------------------------


def test_a_clinician_cannot_build_a_quote(triage_case, users):
    with pytest.raises(PermissionDenied):
        services.create_draft(users["clinician"], triage_case)


def test_another_hospitals_coordinator_cannot_build_or_edit(triage_case, draft, users):
    with pytest.raises(PermissionDenied):
        services.create_draft(users["other_coordinator"], triage_case)
    with pytest.raises(PermissionDenied):
        services.add_line(
            users["other_coordinator"], draft, {"description": {"en": "x", "zh-hans": "x"}, "unit_price": "1"}
        )
    with pytest.raises(NotFound):
        services.get_quote(users["other_coordinator"], pk=draft.pk)


def test_the_patient_cannot_build_or_see_a_draft(draft, users):
    with pytest.raises(PermissionDenied):
        services.update_terms(users["patient"], draft, {"deposit": "0"})
    with pytest.raises(NotFound):
        services.get_quote(users["patient"], pk=draft.pk)


# --- sending --------------------------------------------------------------------------------------


def test_sending_freezes_the_rate_and_moves_the_case_to_quoted(sent, triage_case, rates_today):
    sent.refresh_from_db()
    assert sent.status == Status.SENT and sent.sent_at is not None
    assert sent.rate_cny_per_unit == rates_today["USD"] and sent.rate_date == clock.today()
    assert sent.total_converted == (Decimal("972.00") / rates_today["USD"]).quantize(Decimal("0.01"))
    assert sent.deposit_converted == Decimal("42.11")  # 300 / 7.12345678 = 42.114...
    case = Case.objects.get(pk=triage_case.pk)
    assert case.state == "quoted" and case.first_response_at is not None
    assert case.events.filter(kind="quote_sent", staff_only=False).exists()
    assert AuditEvent.objects.filter(action="quote.send").exists()


def test_sending_tells_the_patient_by_email(draft, users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.send_quote(users["coordinator"], draft)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["patient@example.test"]
    assert draft.number in mail.outbox[0].body


def test_a_later_rate_change_leaves_a_sent_quote_alone(sent, rates_today):
    from laihua.rates.models import ExchangeRate

    ExchangeRate.objects.filter(currency="USD").update(cny_per_unit=Decimal("9"))
    sent.refresh_from_db()
    assert services.figures(sent).rate.cny_per_unit == rates_today["USD"]


def test_a_quote_without_lines_is_not_sent(triage_case, users, rates_today):
    quote = services.create_draft(users["coordinator"], triage_case)
    with pytest.raises(InvalidInput) as error:
        services.send_quote(users["coordinator"], quote)
    assert error.value.field == "lines"


def test_validity_must_be_in_the_future(draft, users):
    with pytest.raises(InvalidInput) as error:
        services.update_terms(users["coordinator"], draft, {"valid_until": clock.today().isoformat()})
    assert error.value.field == "valid_until"
    Quote.objects.filter(pk=draft.pk).update(valid_until=clock.today())
    with pytest.raises(InvalidInput) as error:
        services.send_quote(users["coordinator"], draft)
    assert error.value.field == "valid_until"
    assert Quote.objects.get(pk=draft.pk).status == Status.DRAFT


def test_the_deposit_cannot_exceed_the_total(draft, users, triage_case):
    services.update_terms(users["coordinator"], draft, {"deposit": "972.01"})
    with pytest.raises(InvalidInput) as error:
        services.send_quote(users["coordinator"], draft)
    assert error.value.field == "deposit"
    assert Case.objects.get(pk=triage_case.pk).state == "triage"


def test_a_currency_without_a_rate_is_refused_at_sending_naming_the_field(draft, users, triage_case):
    services.update_terms(users["coordinator"], draft, {"currency": "MNT"})  # an ISO code no source publishes
    with pytest.raises(RateUnavailable) as error:
        services.send_quote(users["coordinator"], draft)
    assert error.value.field == "currency"
    assert Quote.objects.get(pk=draft.pk).status == Status.DRAFT
    assert Case.objects.get(pk=triage_case.pk).state == "triage"


def test_a_catalog_price_changed_since_the_line_was_added_stops_the_sending(draft, users, mri):
    Quote.objects.filter(pk=draft.pk).update(quote_date=clock.today() - datetime.timedelta(days=3))
    Price.objects.create(item=mri, effective_from=clock.today(), amount_min=Decimal("500"), amount_max=Decimal("500"))
    with pytest.raises(InvalidInput) as error:
        services.send_quote(users["coordinator"], draft)
    assert error.value.field == "lines"


def test_a_sent_quote_is_frozen(sent, users):
    line = sent.lines.get()
    coordinator = users["coordinator"]
    for change in (
        lambda: services.update_line(coordinator, sent, line.pk, {"quantity": 1}),
        lambda: services.add_line(coordinator, sent, {"description": {"en": "x", "zh-hans": "x"}, "unit_price": "1"}),
        lambda: services.remove_line(coordinator, sent, line.pk),
        lambda: services.update_terms(coordinator, sent, {"deposit": "0"}),
        lambda: services.send_quote(coordinator, sent),
        lambda: services.discard_draft(coordinator, sent),
    ):
        with pytest.raises(Conflict) as error:
            change()
        assert error.value.code == "quote_frozen"
    line.refresh_from_db()
    assert line.quantity == 2


# --- revisions ------------------------------------------------------------------------------------


def test_a_revision_supersedes_the_sent_quote_and_keeps_the_history(sent, users, triage_case):
    coordinator = users["coordinator"]
    revision = services.create_draft(coordinator, triage_case)
    assert revision.number.endswith("-Q2") and revision.previous_id == sent.pk
    assert [line.code for line in revision.lines.all()] == ["MRI-01"]  # starts from the previous lines
    assert revision.deposit_cny == Decimal("300.00")
    line = revision.lines.get()
    services.update_line(coordinator, revision, line.pk, {"discount_percent": "10", "discount_reason": "Second visit"})
    services.send_quote(coordinator, revision)
    sent.refresh_from_db()
    assert sent.status == Status.SUPERSEDED and sent.superseded_at is not None
    assert sent.lines.get().amount_cny == Decimal("972.00")  # the old revision is unchanged
    history = services.quotes_of_case(users["patient"], triage_case)
    assert [(q.revision, q.status) for q in history] == [(2, Status.SENT), (1, Status.SUPERSEDED)]
    assert Case.objects.get(pk=triage_case.pk).state == "quoted"


def test_a_superseded_quote_cannot_be_accepted(sent, users, triage_case):
    revision = services.create_draft(users["coordinator"], triage_case)
    services.send_quote(users["coordinator"], revision)
    with pytest.raises(Conflict) as error:
        services.accept_quote(users["patient"], Quote.objects.get(pk=sent.pk))
    assert error.value.code == "quote_not_open"


def test_a_draft_can_be_discarded(draft, users, triage_case):
    services.discard_draft(users["coordinator"], draft)
    assert not Quote.objects.filter(pk=draft.pk).exists()
    assert services.create_draft(users["coordinator"], triage_case).revision == 1


# --- the patient's answer -------------------------------------------------------------------------


def test_the_patient_accepts_and_the_quote_is_frozen_with_time_and_address(
    sent, users, triage_case, django_capture_on_commit_callbacks
):
    token = requestctx.client_ip.set("203.0.113.9")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.accept_quote(users["patient"], sent, user_agent="Firefox/140")
    finally:
        requestctx.client_ip.reset(token)
    sent.refresh_from_db()
    assert sent.status == Status.ACCEPTED and sent.accepted_at is not None
    assert sent.accepted_ip == "203.0.113.9" and sent.accepted_user_agent == "Firefox/140"
    assert Case.objects.get(pk=triage_case.pk).state == "accepted"
    event = AuditEvent.objects.get(action="quote.accept")
    assert event.ip_address == "203.0.113.9" and event.actor == users["patient"]
    assert mail.outbox and mail.outbox[-1].to == ["east-coord@example.test"]
    line = sent.lines.get()
    with pytest.raises(Conflict):
        services.update_line(users["coordinator"], sent, line.pk, {"quantity": 1})
    with pytest.raises(Conflict):  # no revision of an accepted case
        services.create_draft(users["coordinator"], triage_case)


def test_accepting_twice_is_a_conflict(sent, users):
    services.accept_quote(users["patient"], sent)
    with pytest.raises(Conflict) as error:
        services.accept_quote(users["patient"], sent)
    assert error.value.code == "quote_already_accepted"
    assert AuditEvent.objects.filter(action="quote.accept").count() == 1


def test_another_patient_cannot_accept_or_see_the_quote(sent, other_patient):
    with pytest.raises(NotFound):
        services.get_quote(other_patient.user, pk=sent.pk)
    with pytest.raises(NotFound):
        services.accept_quote(other_patient.user, sent)
    with pytest.raises(NotFound):
        services.decline_quote(other_patient.user, sent, "too dear")
    sent.refresh_from_db()
    assert sent.status == Status.SENT


def test_staff_cannot_accept_for_the_patient(sent, users):
    with pytest.raises(PermissionDenied):
        services.accept_quote(users["coordinator"], sent)


def test_an_expired_quote_is_refused_and_marked_expired(sent, users, triage_case):
    Quote.objects.filter(pk=sent.pk).update(valid_until=clock.today() - datetime.timedelta(days=1))
    with pytest.raises(Conflict) as error:
        services.accept_quote(users["patient"], sent)
    assert error.value.code == "quote_expired"
    sent.refresh_from_db()
    assert sent.status == Status.EXPIRED and sent.accepted_at is None
    assert Case.objects.get(pk=triage_case.pk).state == "expired"
    with pytest.raises(Conflict) as again:
        services.accept_quote(users["patient"], sent)
    assert again.value.code == "quote_expired"


def test_the_last_valid_day_still_accepts(sent, users):
    Quote.objects.filter(pk=sent.pk).update(valid_until=clock.today())
    assert services.accept_quote(users["patient"], sent).status == Status.ACCEPTED


def test_declining_needs_a_reason_and_returns_the_case_to_triage(sent, users, triage_case):
    with pytest.raises(InvalidInput) as error:
        services.decline_quote(users["patient"], sent, "  ")
    assert error.value.field == "reason"
    services.decline_quote(users["patient"], sent, "Too expensive for me")
    sent.refresh_from_db()
    assert sent.status == Status.DECLINED and sent.decline_reason == "Too expensive for me"
    case = Case.objects.get(pk=triage_case.pk)
    assert case.state == "triage"
    with pytest.raises(Conflict):
        services.accept_quote(users["patient"], sent)
    revision = services.create_draft(users["coordinator"], case)  # the hospital may propose again
    assert revision.revision == 2


# --- expiry ---------------------------------------------------------------------------------------


def test_expire_quotes_expires_past_validity_only(sent, users, triage_case, patient, hospital, mri):
    other_case = make_case(patient, hospital, services=[mri])
    move(users["coordinator"], other_case, "triage")
    fresh = services.create_draft(users["coordinator"], other_case)
    services.add_line(users["coordinator"], fresh, {"item": mri.pk})
    services.send_quote(users["coordinator"], fresh)
    Quote.objects.filter(pk=sent.pk).update(valid_until=clock.today() - datetime.timedelta(days=1))
    assert services.expire_quotes() == [sent.number]
    assert Quote.objects.get(pk=sent.pk).status == Status.EXPIRED
    assert Quote.objects.get(pk=fresh.pk).status == Status.SENT
    assert Case.objects.get(pk=triage_case.pk).state == "expired"
    assert services.expire_quotes() == []


def test_an_expired_case_can_be_quoted_again(sent, users, triage_case):
    Quote.objects.filter(pk=sent.pk).update(valid_until=clock.today() - datetime.timedelta(days=1))
    services.expire_quotes()
    case = Case.objects.get(pk=triage_case.pk)
    revision = services.create_draft(users["coordinator"], case, {"valid_until": days(14)})
    services.send_quote(users["coordinator"], revision)
    assert Case.objects.get(pk=triage_case.pk).state == "quoted"
    assert Quote.objects.get(pk=sent.pk).status == Status.EXPIRED  # history kept as it was


# --- lists ----------------------------------------------------------------------------------------


def test_lists_are_scoped_to_what_the_actor_may_see(sent, users, other_patient, hospital, mri):
    other_case = make_case(other_patient, hospital, services=[mri])
    move(users["coordinator"], other_case, "triage")
    services.create_draft(users["coordinator"], other_case)  # a draft: staff only
    assert [q.number for q in services.list_quotes(users["patient"])] == [sent.number]
    assert list(services.list_quotes(other_patient.user)) == []
    assert services.list_quotes(users["coordinator"]).count() == 2
    assert services.list_quotes(users["clinician"]).count() == 2
    assert list(services.list_quotes(users["other_coordinator"])) == []
    with pytest.raises(NotFound):
        services.list_quotes(users["patient"], case=other_case.reference)
    assert AuditEvent.objects.filter(action="quote.list").count() == 5


def test_a_patient_without_a_rate_source_currency_still_gets_a_draft(users, hospital, mri, rates_today):
    from laihua.accounts.models import Role
    from tests.builders import make_user

    user = make_user("mongolian", Role.PATIENT)
    patient = make_patient(user, nationality="MN", currency="MNT")
    case = make_case(patient, hospital, services=[mri])
    move(users["coordinator"], case, "triage")
    quote = services.create_draft(users["coordinator"], case)
    figures = services.figures(quote)
    assert figures.rate is None and "MNT" in figures.rate_error


def test_a_revision_takes_todays_catalog_price(sent, users, triage_case, mri):
    Price.objects.create(item=mri, effective_from=clock.today(), amount_min=Decimal("500"), amount_max=Decimal("500"))
    revision = services.create_draft(users["coordinator"], triage_case)
    line = revision.lines.get()
    assert (line.unit_price_cny, line.amount_cny, line.catalog_price_from) == (
        Decimal("500.00"),
        Decimal("1000.00"),
        clock.today(),
    )
    assert revision.total_cny == Decimal("1000.00")
    assert sent.lines.get().unit_price_cny == Decimal("486.00")


def test_cancelling_the_case_withdraws_its_sent_quote(sent, users):
    from laihua.cases.services import move

    move(users["patient"], sent.case, "cancelled", note="Changed my plans.")
    sent.refresh_from_db()
    assert sent.status == "expired"
    assert sent.case.events.filter(kind="quote_withdrawn").exists()
    assert AuditEvent.objects.filter(action="quote.withdraw").count() == 1
    with pytest.raises(DomainError):
        services.accept_quote(users["patient"], sent)


def test_declining_the_case_discards_its_draft(draft, users):
    from laihua.cases.services import move

    move(users["coordinator"], draft.case, "declined", note="Not a case for us.")
    assert not type(draft).objects.filter(pk=draft.pk).exists()
