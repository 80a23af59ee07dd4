"""The demo's generated history: cases in every state at the three hospitals, bookings that the quota's
counters account for, and enough of it for the fairness report, the real prices and the utilisation
dashboard to show something on first open. Loaded once; the existing demo cases and logins untouched."""

from django.db.models import Sum

from laihua.accounts.models import User
from laihua.capacity.models import Booking, BookingStatus, IntlUsage
from laihua.cases.models import Case
from laihua.cases.states import State
from laihua.catalog.models import PaidPriceSummary
from laihua.demo import history
from laihua.fairness.models import MonthlyUse
from laihua.fairness.services import report


def test_the_history_loads_once_with_every_state_and_something_to_show(db, settings, client):
    from laihua.demo.loader import load_demo

    settings.DEMO_MODE = True
    settings.LAIHUA_DEMO_HISTORY = True
    load_demo()
    patients = history.history_users()
    assert patients.count() > 1000 and not any(user.has_usable_password() for user in patients[:20])
    states = set(Case.objects.filter(patient__user__in=patients).values_list("state", flat=True))
    assert len(states) >= 10
    assert states >= {State.CLOSED, State.DECLINED, State.CANCELLED, State.EXPIRED, State.DISCHARGED, State.ACCEPTED}
    # The quota's counters hold every booking, the demo's own and the history's.
    booked = Booking.objects.filter(status=BookingStatus.BOOKED).aggregate(units=Sum("units"))["units"]
    counted = IntlUsage.objects.filter(period="day").aggregate(units=Sum("booked_units"))["units"]
    assert booked == counted
    # Real prices for several services, and a fairness report with figures shown and suppressed.
    assert PaidPriceSummary.objects.count() >= 5
    month = report.default_month(report.reported_months())
    figures = [f for city in report.month_report(month) for area in city.hospitals for f in area.figures.values()]
    assert any(f.suppressed is None and f.used for f in figures)
    assert MonthlyUse.objects.values("month").distinct().count() >= 18
    assert client.get("/en/fairness/").status_code == 200
    # The demo logins are still the demo's.
    assert User.objects.get(username="huangpu-coord").check_password("laihua-demo-2026")
    before = Case.objects.count()
    assert history.load() == 0 and Case.objects.count() == before
