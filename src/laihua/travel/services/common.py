"""What the travel services share: the form error that names its field, Chinese's language code, and the
case states from which letters are issued and the stay is recorded (the patient has accepted a quote)."""

from django.utils.translation import gettext as _

from laihua.cases.states import DESK, State
from laihua.errors import InvalidInput

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


class FormInvalid(InvalidInput):
    """A form's errors: the first names its field; pages show them all."""

    def __init__(self, form):
        self.form = form
        name, errors = next(iter(form.errors.items()))
        if name == "__all__":
            super().__init__(errors[0])
            return
        label = form.fields[name].label if name in form.fields else name
        super().__init__(_("%(field)s: %(error)s") % {"field": label, "error": errors[0]}, field=name)
