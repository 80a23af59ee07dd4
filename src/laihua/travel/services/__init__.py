"""Travel: which entry route fits a patient's trip, the hospital's invitation letter for a visa, and the
patient's days in China (flights, airport pickup, accommodation, companions, the permitted stay).

- guidance: the entry routes for a nationality and dates, or for a case (entry_guidance, case_guidance)
- letters: invitation letters and the hospital's letter settings
- stay: flights, the airport pickup, accommodation bookings, companions, and the trip's dates (trip_dates)
- limits: the permitted stay, the check every plan passes, the warning before it ends, letters to reissue
- accommodations: the hospital's partner hotels and serviced apartments
- overview: the stay in one read, for the case page and the API

Callers use this package (`from laihua.travel import services`) or one of its modules.
"""

from laihua.errors import FormInvalid
from laihua.travel.services.accommodations import (
    accommodation_json,
    get_accommodation,
    hospital_accommodations,
    save_accommodation,
)
from laihua.travel.services.common import CHINESE
from laihua.travel.services.guidance import Guidance, Route, case_guidance, entry_guidance, public_guidance
from laihua.travel.services.letters import (
    LETTER_ROLES,
    LETTER_STATES,
    CaseNotAccepted,
    SignatoryMissing,
    entry_rules,
    get_letter,
    issue_letter,
    letter_defaults,
    letter_form,
    letter_pdf,
    letter_settings,
    letters_for_case,
    list_letters,
    may_issue,
    may_read_letters,
    render_letter_pdf,
    require_letter_staff,
    require_letter_state,
    revoke_letter,
    save_letter_settings,
    second_language,
    settings_for_admin,
)
from laihua.travel.services.limits import (
    WARNING_DAYS,
    PermittedStay,
    StayLimitExceeded,
    check_departure,
    letter_needs_reissue,
    open_warnings,
    permitted_stay,
    set_entry,
    stay_reminders,
)
from laihua.travel.services.overview import stay_json, stay_overview
from laihua.travel.services.stay import (
    StayNotOpen,
    TripDates,
    bookings_of,
    entry_flight,
    exit_flight,
    flights_of,
    may_edit_stay,
    remove_flight,
    request_accommodation,
    save_flight,
    set_booking_status,
    set_companions,
    set_pickup,
    stay_of,
    trip_dates,
)

__all__ = [
    "CHINESE",
    "WARNING_DAYS",
    "PermittedStay",
    "StayLimitExceeded",
    "StayNotOpen",
    "TripDates",
    "accommodation_json",
    "bookings_of",
    "entry_flight",
    "exit_flight",
    "flights_of",
    "stay_of",
    "check_departure",
    "get_accommodation",
    "hospital_accommodations",
    "letter_needs_reissue",
    "may_edit_stay",
    "open_warnings",
    "permitted_stay",
    "remove_flight",
    "request_accommodation",
    "save_accommodation",
    "save_flight",
    "set_booking_status",
    "set_companions",
    "set_entry",
    "set_pickup",
    "stay_json",
    "stay_overview",
    "stay_reminders",
    "trip_dates",
    "LETTER_ROLES",
    "LETTER_STATES",
    "CaseNotAccepted",
    "FormInvalid",
    "Guidance",
    "Route",
    "SignatoryMissing",
    "case_guidance",
    "entry_guidance",
    "entry_rules",
    "get_letter",
    "issue_letter",
    "letter_defaults",
    "letter_form",
    "letter_pdf",
    "letter_settings",
    "letters_for_case",
    "list_letters",
    "may_issue",
    "may_read_letters",
    "public_guidance",
    "render_letter_pdf",
    "require_letter_staff",
    "require_letter_state",
    "revoke_letter",
    "save_letter_settings",
    "second_language",
    "settings_for_admin",
]
