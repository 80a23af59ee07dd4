"""The stay section of the case page as the signed-in reader sees it: shared by the case page's template tag
and the htmx answers of the stay's forms (after a change, or with an error and what was typed)."""

from django.utils.translation import get_language

from laihua.errors import InvalidInput
from laihua.kit.i18n import pick
from laihua.travel import airports
from laihua.travel.models import BookingStatus, FlightDirection, PickupStatus
from laihua.travel.services import entry_guidance, hospital_accommodations, stay_overview


def stay_context(request, case, *, error=None, posted=None, open_form: str = "") -> dict:
    """The panel's context; `error` is the DomainError of the last change, `open_form` its form, shown open
    with what was typed (`posted`)."""
    user = request.user
    overview = stay_overview(user, case)
    context = {
        **overview,
        "request": request,
        "is_patient": user.role == "patient",
        "is_zh": (get_language() or "").startswith("zh"),
        "staff": user.role != "patient",
        "error": error,
        "posted": posted or {},
        "open_form": open_form,
        "directions": FlightDirection.choices,
        "pickup_choices": PickupStatus.choices,
        "booking_choices": BookingStatus.choices,
        "airport_names": {
            code: airports.label(code) for f in overview["flights"] for code in (f.from_airport, f.to_airport)
        },
    }
    if overview["can_edit"]:
        try:
            routes = [
                (route.code, pick(route.scheme.name))
                for route in entry_guidance(case).routes
                if route.place_fits is not False
            ]
        except InvalidInput:
            routes = []
        context.update(
            routes=routes,
            patient_companions=list(case.patient.companions.all()),
            chosen_companions={companion.pk for companion in overview["companions"]},
            manage_accommodations=user.role in ("coordinator", "hospital_admin"),
        )
    context["accommodations_count"] = (
        hospital_accommodations(user).count() if context.get("manage_accommodations") else None
    )
    return context
