"""What the travel services share: the form error that names its field, Chinese's language code, and the
case states from which letters are issued and the stay is recorded (the patient has accepted a quote)."""

from laihua.cases.states import DESK, State

CHINESE = "zh-hans"
LETTER_ROLES = DESK  # coordinators and hospital admins issue, revoke and read letters
LETTER_STATES = (
    State.ACCEPTED,
    State.SCHEDULED,
    State.ARRIVED,
    State.IN_TREATMENT,
    State.DISCHARGED,
    State.FOLLOW_UP,
)
