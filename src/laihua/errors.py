"""Domain errors: raised by services, mapped once to JSON (api.py) and once to HTML (web/messages)."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A rule of the domain refused the request; `code` is stable, `message` is translated."""

    code = "domain_error"
    status = 400
    default_message = _("The request could not be completed.")

    def __init__(self, message=None, *, field: str | None = None, code: str | None = None, status: int | None = None):
        self.message = message if message is not None else self.default_message
        self.field = field
        if code:
            self.code = code
        if status:
            self.status = status
        super().__init__(str(self.message))

    def as_dict(self) -> dict:
        return {"error": self.code, "detail": str(self.message), "field": self.field}


class InvalidInput(DomainError):
    code = "invalid"
    status = 422
    default_message = _("This value is not valid.")


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = _("Not found.")


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403
    default_message = _("You are not allowed to do this.")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = _("This conflicts with the current state.")


class RateUnavailable(DomainError):
    code = "rate_unavailable"
    status = 422
    default_message = _("No exchange rate is known for this currency.")


class FormInvalid(InvalidInput):
    """A form's errors: the first names its field; pages show them all."""

    def __init__(self, form):
        self.form = form
        name, errors = next(iter(form.errors.items()))
        if name == "__all__":
            super().__init__(errors[0])
            return
        label = form.fields[name].label if name in form.fields else name
        super().__init__(gettext("%(field)s: %(error)s") % {"field": label, "error": errors[0]}, field=name)
