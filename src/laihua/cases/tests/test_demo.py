"""The demo cases load on top of the demo hospitals and patients, in several states, and load only once."""

from laihua.cases.models import Case, Message
from laihua.cases.services import is_overdue
from laihua.cases.states import State
from laihua.demo import cases as demo


def test_the_demo_cases_load_once(db, settings):
    from laihua.demo.loader import load_demo

    settings.DEMO_MODE = True
    load_demo()  # loads the demo cases too (other domains' demo loaders add cases of their own)
    keys = [spec.key for spec in demo.CASES]
    own = Case.objects.filter(events__kind="opened", events__detail__demo__in=keys).distinct()
    assert own.count() == len(demo.CASES)
    assert demo.load() == 0
    cases = {case.hospital.slug: case for case in own.select_related("hospital")}
    assert len(cases) == len(demo.CASES)
    assert {case.state for case in cases.values()} == {State.TRIAGE, State.INQUIRY, State.DECLINED}
    assert is_overdue(cases["pudong-demo-medical-center"])
    assert not is_overdue(cases["huangpu-international-demo"])
    assert cases["huangpu-international-demo"].inquiry_group == cases["pudong-demo-medical-center"].inquiry_group
    assert Message.objects.filter(internal=True).count() == 1
    assert all(case.reference.startswith("LH-") for case in cases.values())
    assert cases["huangpu-international-demo"].services.count() == 2
