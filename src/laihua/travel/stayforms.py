"""Field rules for the patient's days in China: flights, the airport pickup, accommodation requests, the
entry route and companions, and the hospital's partner accommodations. The services run these forms on
whatever they are given (a page's POST, an API payload), so pages and the API give the same errors."""

import datetime
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from laihua.kit.i18n import TranslatedFormField
from laihua.travel import airports
from laihua.travel.models import Accommodation, AccommodationKind, BookingStatus, FlightDirection, PickupStatus

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
LOCAL_TIME_WIDGET = forms.TextInput(attrs={"type": "datetime-local"})
# An airline's two-character designator (letters and digits, not two digits) or three-letter code,
# then one to four digits and an optional suffix letter: MU554, 3U8888, CA 934, BAW168.
FLIGHT_NUMBER = re.compile(r"^(?:(?!\d\d)[A-Z0-9]{2}|[A-Z]{3})\d{1,4}[A-Z]?$")
LONGEST_FLIGHT = datetime.timedelta(hours=30)
MAX_GUESTS = 10


class LocalTimeField(forms.CharField):
    """A date and time as read on the airport's clock (no time zone): 2027-01-06T14:35."""

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            return datetime.datetime.fromisoformat(value.replace(" ", "T")).replace(tzinfo=None, second=0)
        except ValueError:
            raise forms.ValidationError(_("Give a date and time, e.g. 2027-01-06 14:35.")) from None


class AirportField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=3, min_length=3, **kwargs)

    def to_python(self, value):
        code = (super().to_python(value) or "").strip().upper()
        if code and airports.airport(code) is None:
            raise forms.ValidationError(_("“%(code)s” is not an airport's three-letter code.") % {"code": code})
        return code


class FlightForm(forms.Form):
    direction = forms.ChoiceField(label=_("direction"), choices=FlightDirection.choices)
    number = forms.CharField(label=_("flight number"), max_length=12)
    from_airport = AirportField(label=_("from (airport code)"))
    departs = LocalTimeField(label=_("departs (local time)"), widget=LOCAL_TIME_WIDGET)
    to_airport = AirportField(label=_("to (airport code)"))
    arrives = LocalTimeField(label=_("arrives (local time)"), widget=LOCAL_TIME_WIDGET)

    def clean_number(self):
        number = "".join(self.cleaned_data["number"].split()).upper()
        if not FLIGHT_NUMBER.match(number):
            raise forms.ValidationError(_("Give the airline's code and the number, e.g. MU554."))
        return number

    def clean(self):
        data = super().clean()
        origin, destination = data.get("from_airport"), data.get("to_airport")
        departs, arrives = data.get("departs"), data.get("arrives")
        if origin and destination and origin == destination:
            self.add_error("to_airport", _("The flight lands where it took off."))
            return data
        if not (origin and destination and departs and arrives):
            return data
        data["departs_tz"] = airports.airport(origin)["tz"]
        data["arrives_tz"] = airports.airport(destination)["tz"]
        data["departs_at"] = departs.replace(tzinfo=ZoneInfo(data["departs_tz"]))
        data["arrives_at"] = arrives.replace(tzinfo=ZoneInfo(data["arrives_tz"]))
        flight_time = data["arrives_at"] - data["departs_at"]
        if flight_time <= datetime.timedelta(0):
            self.add_error("arrives", _("The arrival comes before the departure (each in its airport's time)."))
        elif flight_time > LONGEST_FLIGHT:
            self.add_error("arrives", _("No flight lasts more than 30 hours: check the dates."))
        return data


class PickupForm(forms.Form):
    pickup_status = forms.ChoiceField(label=_("airport pickup"), choices=PickupStatus.choices)
    pickup_note = forms.CharField(label=_("pickup details"), max_length=300, required=False)

    def clean_pickup_note(self):
        return " ".join(self.cleaned_data["pickup_note"].split())


class AccommodationRequestForm(forms.Form):
    accommodation = forms.ModelChoiceField(label=_("accommodation"), queryset=Accommodation.objects.none())
    check_in = forms.DateField(label=_("check-in"), widget=DATE_WIDGET)
    check_out = forms.DateField(label=_("check-out"), widget=DATE_WIDGET)
    guests = forms.IntegerField(label=_("guests"), min_value=1, max_value=MAX_GUESTS, initial=1)
    note = forms.CharField(label=_("note"), max_length=300, required=False)

    def __init__(self, *args, accommodations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if accommodations is not None:
            self.fields["accommodation"].queryset = accommodations

    def clean(self):
        data = super().clean()
        check_in, check_out = data.get("check_in"), data.get("check_out")
        if check_in and check_out:
            if check_out <= check_in:
                self.add_error("check_out", _("The check-out comes after the check-in."))
            elif (check_out - check_in).days > 180:
                self.add_error("check_out", _("Book at most 180 nights at once."))
        return data


class BookingStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("status"), choices=BookingStatus.choices)
    note = forms.CharField(label=_("note"), max_length=300, required=False)


class EntryForm(forms.Form):
    entry_route = forms.ChoiceField(label=_("entry route"), required=False)
    visa_stay_days = forms.IntegerField(
        label=_("stay the visa allows (days)"),
        required=False,
        validators=[MinValueValidator(1), MaxValueValidator(180)],
        help_text=_("“Duration of each stay” on the visa."),
    )
    extended_until = forms.DateField(label=_("stay extended until"), required=False, widget=DATE_WIDGET)

    def __init__(self, *args, routes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entry_route"].choices = [("", _("the best route for the trip")), *routes]

    def clean(self):
        data = super().clean()
        if data.get("visa_stay_days") and data.get("entry_route") != "visa":
            self.add_error("visa_stay_days", _("Only a visa has a stay printed on it: choose the visa route."))
        return data


class CompanionsForm(forms.Form):
    companions = forms.MultipleChoiceField(
        label=_("companions staying"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, companions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["companions"].choices = [
            (str(companion.pk), f"{companion.full_name} ({companion.relation})") for companion in companions
        ]


class AccommodationForm(forms.ModelForm):
    """A partner hotel or serviced apartment near the hospital: names and address in English and Chinese."""

    name = TranslatedFormField(label=_("name"), required_languages=("en", "zh-hans"))
    address = TranslatedFormField(label=_("address"), required_languages=("en", "zh-hans"))
    note = TranslatedFormField(label=_("note"), required=False)
    kind = forms.ChoiceField(label=_("kind"), choices=AccommodationKind.choices)
    distance_m = forms.IntegerField(label=_("distance to the hospital (metres)"), min_value=0, max_value=50_000)
    nightly_price_cny = forms.DecimalField(
        label=_("price a night (CNY)"), min_value=Decimal("0"), max_value=Decimal("100000"), decimal_places=2
    )

    class Meta:
        model = Accommodation
        fields = ("kind", "name", "address", "distance_m", "nightly_price_cny", "phone", "note", "active")
