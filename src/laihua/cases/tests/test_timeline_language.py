"""Timeline lines written by the system read in the reader's language, whoever's language they were
written in; every kind of event has a label."""

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_noop

from laihua.cases.services import add_event, timeline_note
from laihua.cases.templatetags.cases_tags import EVENT_LABELS

pytestmark = pytest.mark.django_db


def test_a_system_note_is_shown_in_the_readers_language(client, users, case):
    with translation.override("en"):
        add_event(
            case,
            users["coordinator"],
            "trip_confirmed",
            note=timeline_note(
                gettext_noop("Your trip is booked: arrival %(arrival)s, departure %(departure)s."),
                arrival="2027-01-02",
                departure="2027-01-09",
            ),
        )
    client.force_login(users["patient"])
    english = client.get(reverse("cases:detail", args=[case.reference])).content.decode()
    assert "Your trip is booked: arrival 2027-01-02" in english and "Trip confirmed" in english
    page = client.get("/zh-hans" + reverse("cases:detail", args=[case.reference])[3:]).content.decode()
    assert "2027-01-02" in page and "Your trip is booked" not in page and "行程已确认" in page


def test_every_kind_the_services_record_has_a_label():
    import pathlib
    import re

    source = pathlib.Path(__file__).resolve().parents[2]
    kinds = set()
    for path in [*source.rglob("services.py"), *source.rglob("services/*.py")]:  # a module or a package
        kinds |= set(re.findall(r'add_event\(\s*[^,]+,\s*[^,]+,\s*"([a-z_]+)"', path.read_text()))
    special = {"transition", "assigned", "message"}
    assert kinds - special, "the search found the kinds"
    assert sorted(kinds - special - set(EVENT_LABELS)) == []
