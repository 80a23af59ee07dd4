from django.conf import settings


def site(request):
    """Values every page needs: the visitor's display currency and the choices of currency."""
    return {
        "display_currency": display_currency(request),
        "display_currencies": settings.LAIHUA_DISPLAY_CURRENCIES,
        "demo_mode": settings.DEMO_MODE,
    }


def display_currency(request) -> str:
    """The currency a visitor chose (query string, then session, then their profile), CNY by default."""
    chosen = request.GET.get("currency") if hasattr(request, "GET") else None
    if chosen and chosen.upper() in settings.LAIHUA_DISPLAY_CURRENCIES:
        return chosen.upper()
    remembered = request.session.get("currency") if hasattr(request, "session") else None
    if remembered:
        return remembered
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.preferred_currency:
        return user.preferred_currency
    return "CNY"


def requested_currency(request) -> str:
    """The currency this request asks for: ?currency= as given (the caller checks it), else the choice."""
    asked = (request.GET.get("currency") or "").strip().upper()
    return asked or display_currency(request)
