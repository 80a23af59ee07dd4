"""What the travel services share: the form error that names its field, and Chinese's language code."""

from django.utils.translation import gettext as _

from laihua.errors import InvalidInput

CHINESE = "zh-hans"


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
