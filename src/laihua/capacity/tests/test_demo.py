"""The demo capacity loads on top of the demo hospitals, maps the MRI to its scanner, and loads only once."""

from laihua.capacity.models import Resource, ServiceUsage
from laihua.demo import capacity as demo


def test_demo_capacity_loads_once_with_the_mri_on_its_scanner(db, settings):
    from laihua.demo.loader import load_demo

    settings.DEMO_MODE = True
    load_demo()  # loads the demo capacity too
    assert Resource.objects.filter(code="mri").count() == 3
    usage = ServiceUsage.objects.get(item__code="HIDH-RAD-MRI-1")
    assert (usage.resource.code, usage.units, usage.days) == ("mri", 1, 1)
    assert ServiceUsage.objects.filter(item__code="HIDH-PKG-THR", resource__code="beds", days=7).exists()
    assert demo.load() == 0
