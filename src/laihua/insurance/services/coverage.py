"""Coverage: the patient's policy on a case, recorded by the hospital's desk, and what keeps it from direct
billing (`coverage_problems`: a contract in force, direct billing on, the policy valid over the planned dates).
A GOP is sent only when there is no problem."""

import datetime
from collections.abc import Mapping

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import add_event, require_case_staff
from laihua.cases.states import DESK
from laihua.errors import Conflict, InvalidInput, NotFound
from laihua.insurance.models import GRANTED_STATUSES, OPEN_STATUSES, Coverage, Guarantee
from laihua.insurance.services.access import may_see_case
from laihua.insurance.services.contracts import chosen_insurer, contract_for
from laihua.insurance.services.inputs import parse_date
from laihua.kit import clock
from laihua.quotes.models import Quote
from laihua.travel.services import TripDates, trip_dates


class CoverageProblem(Conflict):
    code = "coverage_problem"
    default_message = gettext_lazy("The patient's coverage does not allow a guarantee request.")


def coverage_of(case: Case) -> Coverage | None:
    """The coverage recorded on the case, or None (no access check: the caller has checked the case)."""
    return Coverage.objects.select_related("insurer", "contract").filter(case=case).first()


def planned_dates(case: Case, quote: Quote | None = None) -> tuple[datetime.date | None, datetime.date | None]:
    """The treatment's dates as the trip has them: its flights, else the confirmed plan, else the desired dates."""
    dates = trip_dates(case)
    return dates.arrival, dates.departure or dates.arrival


def gop_dates_changed(gop: Guarantee) -> TripDates | None:
    """The trip's booked dates when a GOP request sent to the insurer names others (it needs sending again).

    Computed from the request as sent and the trip as booked, so it is never stale; a request cancelled or
    denied, or a trip not booked yet (only the desired dates), is never flagged."""
    if gop.status not in (*OPEN_STATUSES, *GRANTED_STATUSES):
        return None
    dates = trip_dates(gop.case)
    if not dates.booked or (gop.planned_start, gop.planned_end) == (dates.arrival, dates.departure):
        return None
    return dates


def coverage_problems(
    coverage: Coverage, *, start: datetime.date | None = None, end: datetime.date | None = None
) -> list[str]:
    """What keeps this coverage from direct billing at the case's hospital (empty when all is well)."""
    problems = []
    case = coverage.case
    contract = contract_for(case.hospital, coverage.insurer)
    if contract is None:
        problems.append(_("%(insurer)s has no contract in force with this hospital.") % {"insurer": coverage.insurer})
    elif not contract.direct_billing:
        problems.append(_("The contract with %(insurer)s has no direct billing.") % {"insurer": coverage.insurer})
    if start is None and end is None:
        start, end = planned_dates(case)
    today = clock.today()
    if coverage.valid_until < today:
        problems.append(_("The policy expired on %(date)s.") % {"date": coverage.valid_until.isoformat()})
    if start and coverage.valid_from > start:
        problems.append(
            _("The policy starts on %(date)s, after the planned treatment starts.")
            % {"date": coverage.valid_from.isoformat()}
        )
    if end and coverage.valid_until < end:
        problems.append(
            _("The policy ends on %(date)s, before the planned treatment ends.")
            % {"date": coverage.valid_until.isoformat()}
        )
    return problems


@transaction.atomic
def record_coverage(actor, case: Case, data: Mapping) -> Coverage:
    """Record (or correct) the patient's policy on the case (coordinators and admins of its hospital)."""
    require_case_staff(actor, case, DESK)
    insurer = chosen_insurer(data.get("insurer"))
    member_id = str(data.get("member_id") or "").strip()
    if not member_id:
        raise InvalidInput(_("Enter the member number."), field="member_id")
    if len(member_id) > 60:
        raise InvalidInput(_("The member number is too long."), field="member_id")
    valid_from = parse_date(data.get("valid_from"), field="valid_from")
    valid_until = parse_date(data.get("valid_until"), field="valid_until")
    if valid_until < valid_from:
        raise InvalidInput(_("The end date is before the start date."), field="valid_until")
    open_gop = Guarantee.objects.filter(case=case, status__in=OPEN_STATUSES).first()
    if open_gop is not None:
        raise Conflict(
            _("A guarantee request is waiting for the insurer; cancel it before changing the coverage."),
            field="insurer",
        )
    values = {
        "insurer": insurer,
        "member_id": member_id,
        "policy_number": str(data.get("policy_number") or "").strip()[:60],
        "plan": str(data.get("plan") or "").strip()[:120],
        "valid_from": valid_from,
        "valid_until": valid_until,
        "contract": contract_for(case.hospital, insurer),
        "recorded_by": actor,
    }
    coverage, created = Coverage.objects.update_or_create(case=case, defaults=values)
    problems = coverage_problems(coverage)
    detail = {"insurer": insurer.code, "member_id": member_id, "problems": problems}
    add_event(case, actor, "coverage_recorded", staff_only=True, insurer=insurer.name, member_id=member_id)
    record_event(
        actor, "insurance.coverage.record", coverage, hospital=case.hospital, detail={"case": case.reference, **detail}
    )
    return coverage


def coverage_for_case(actor, case: Case) -> tuple[Coverage | None, list[str]]:
    """The case's coverage and its problems, for a party of the case (patient, staff, the insurer)."""
    if not may_see_case(actor, case):
        raise NotFound(_("No such case."))
    coverage = coverage_of(case)
    return coverage, (coverage_problems(coverage) if coverage else [])
