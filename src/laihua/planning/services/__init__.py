"""Trip planning for a case: gather the inputs, call the solver, keep the itinerary, book it all or nothing.

The inputs come from the database: the case's accepted services (the accepted quote's catalog lines),
their clinical orders (the catalog's defaults, or the coordinator's adjustments kept on the last
itinerary), each resource's remaining international places by day and opening hours, the entry route
the patient's nationality allows (travel), the patient's window and preferences.

- scope: who sees which itineraries (visible_itineraries, get_itinerary, current_itinerary)
- inputs: the accepted services, planning rules, clinical orders, entry routes and the coordinator's
  inputs, prefilled and checked
- problem: the solver's problem, with each resource's remaining places
- reasons: why no trip fits, in words
- planner: plan_case, which keeps the plan as a draft itinerary
- confirm: confirm_itinerary, which books it all or nothing (PlaceTaken when a place was taken)
- documents: the itinerary day by day, as JSON, iCalendar and PDF
- interpreters: the pool the planner plans with, remote interpretation, shortages, an interpreter's day

Callers use this package (`from laihua.planning import services`) or one of its modules.
"""

from laihua.planning.services.confirm import PlaceTaken, confirm_itinerary
from laihua.planning.services.documents import days_of, itinerary_ics, itinerary_json, itinerary_pdf
from laihua.planning.services.inputs import (
    DEFAULT_DURATION_MINUTES,
    DEFAULT_VISITS_PER_DAY,
    MAX_DAYS_AHEAD,
    MAX_REPEATS,
    MAX_WINDOW_DAYS,
    REPEAT_BY_KIND,
    Planned,
    accepted_quantities,
    accepted_services,
    clean_inputs,
    default_orders,
    defaults_of,
    plan_inputs,
    planned_services,
    routes_for,
)
from laihua.planning.services.interpreters import (
    free_days,
    gather_pool,
    interpreter_day,
    patient_language,
    set_remote,
    shortages,
    shortages_csv,
)
from laihua.planning.services.planner import NothingToPlan, plan_by_reference, plan_case
from laihua.planning.services.problem import build_problem
from laihua.planning.services.reasons import reason_text
from laihua.planning.services.scope import (
    PLANNABLE_STATES,
    PLANNERS,
    booked_itinerary,
    current_itinerary,
    get_itinerary,
    visible_itineraries,
)

__all__ = [
    # roles, states and bounds
    "DEFAULT_DURATION_MINUTES",
    "DEFAULT_VISITS_PER_DAY",
    "MAX_DAYS_AHEAD",
    "MAX_REPEATS",
    "MAX_WINDOW_DAYS",
    "PLANNABLE_STATES",
    "PLANNERS",
    "REPEAT_BY_KIND",
    # errors
    "NothingToPlan",
    "PlaceTaken",
    # scope
    "booked_itinerary",
    "current_itinerary",
    "get_itinerary",
    "visible_itineraries",
    # inputs
    "Planned",
    "accepted_quantities",
    "accepted_services",
    "clean_inputs",
    "default_orders",
    "defaults_of",
    "plan_inputs",
    "planned_services",
    "routes_for",
    # planning and confirming
    "build_problem",
    "confirm_itinerary",
    "plan_by_reference",
    "plan_case",
    "reason_text",
    # interpreters
    "free_days",
    "gather_pool",
    "interpreter_day",
    "patient_language",
    "set_remote",
    "shortages",
    "shortages_csv",
    # documents
    "days_of",
    "itinerary_ics",
    "itinerary_json",
    "itinerary_pdf",
]
