"""Travel: which entry route fits a patient's trip, the hospital's invitation letter for a visa, and the
patient's days in China (flights, airport pickup, accommodation, companions, the permitted stay).

- guidance: the entry routes for a nationality and dates, or for a case (entry_guidance, case_guidance)
- letters: invitation letters and the hospital's letter settings

Callers use this package (`from laihua.travel import services`) or one of its modules.
"""

from laihua.travel.services.common import CHINESE, FormInvalid
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

__all__ = [
    "CHINESE",
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
