"""The demo gives every demo hospital an interpreter pool with a linked interpreter account, and its planned
knee trip plans interpreters with the visits."""

from laihua.accounts.models import Role, User
from laihua.interpreters.models import Interpreter


def test_demo_pools_accounts_and_the_planned_trip(db, settings):
    from laihua.demo import interpreters as demo
    from laihua.demo import planning as demo_planning
    from laihua.demo.loader import load_demo
    from laihua.planning.models import Itinerary

    settings.DEMO_MODE = True
    load_demo()
    for code in ("huangpu", "pudong", "chaoyang"):
        account = User.objects.get(username=f"{code}-interp")
        assert account.role == Role.INTERPRETER and account.hospital_id
        assert Interpreter.objects.get(user=account).hospital_id == account.hospital_id
    languages = {code for person in Interpreter.objects.all() for code in person.languages}
    assert {"en", "ru", "ar", "fr", "ja"} <= languages
    assert Interpreter.objects.filter(absences__isnull=False).exists()
    itinerary = Itinerary.objects.get(case__events__kind="opened", case__events__detail__demo=demo_planning.DEMO_KEY)
    rows = list(itinerary.items.filter(kind="visit"))
    assert rows and all(row.interpreter_language == "en" for row in rows)
    assert any(row.interpreter_id for row in rows)
    count = Interpreter.objects.count()
    assert demo.load() == count and Interpreter.objects.count() == count
