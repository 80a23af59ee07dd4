"""Packages (a package's services with their quantities) and standard codes: services, page, API, CSV."""

import csv
import io
from decimal import Decimal

import pytest

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.catalog import services
from laihua.catalog.importer import import_catalog
from laihua.catalog.models import CatalogItem, Kind, PackageComponent
from laihua.catalog.pricefiles import FileRejected
from laihua.catalog.tests.test_import import edit_csv, export_csv
from laihua.catalog.tests.test_views_manage import item_data
from laihua.errors import InvalidInput, PermissionDenied
from tests.builders import make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(hospital, other_hospital, mri):
    """A hip package with its services, a check-up package, and a service of another hospital."""
    bed = make_item(hospital, code="BED-01", kind=Kind.INPATIENT_DAY, en="Single room, per day", zh="单人病房")
    surgery = make_item(hospital, code="HIP-OP", kind=Kind.PROCEDURE, en="Hip replacement", zh="髋关节置换术")
    hip = make_item(
        hospital,
        code="HIP-PKG",
        kind=Kind.PACKAGE,
        price=Decimal("45000"),
        en="Hip replacement package",
        zh="髋关节置换套餐",
        department="orthopaedics",
        stay_days=7,
    )
    PackageComponent.objects.create(package=hip, item=surgery, quantity=1)
    PackageComponent.objects.create(package=hip, item=bed, quantity=5)
    checkup = make_item(hospital, code="CHECK-PKG", kind=Kind.PACKAGE, en="Full check-up", zh="全面体检套餐")
    make_item(other_hospital, code="WEST-LAB", kind=Kind.LABORATORY, en="Blood count", zh="血常规")
    return {"bed": bed, "surgery": surgery, "hip": hip, "checkup": checkup}


def listed(package) -> list[tuple[str, int]]:
    return [(c.item.code, c.quantity) for c in services.components_of(package)]


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


# Services


@pytest.mark.parametrize("role", ["coordinator", "hospital_admin"])
def test_editors_replace_a_packages_services_and_the_change_is_audited(users, catalog, role):
    hip = catalog["hip"]
    services.set_components(users[role], hip, [("HIP-OP", 1), ("BED-01", 7), ("MRI-01", 2)])
    assert listed(hip) == [("BED-01", 7), ("HIP-OP", 1), ("MRI-01", 2)]
    event = AuditEvent.objects.get(action="catalog.package.components")
    assert event.actor == users[role] and event.hospital == hip.hospital and event.object_id == str(hip.pk)
    assert event.detail["before"] == [{"code": "BED-01", "quantity": 5}, {"code": "HIP-OP", "quantity": 1}]
    assert event.detail["after"] == [
        {"code": "BED-01", "quantity": 7},
        {"code": "HIP-OP", "quantity": 1},
        {"code": "MRI-01", "quantity": 2},
    ]


def test_the_same_list_again_changes_and_audits_nothing(users, catalog):
    services.set_components(users["coordinator"], catalog["hip"], [{"code": "BED-01", "quantity": 5}, ("HIP-OP", 1)])
    assert not AuditEvent.objects.filter(action="catalog.package.components").exists()


def test_an_empty_list_removes_every_service(users, catalog):
    services.set_components(users["coordinator"], catalog["hip"], [])
    assert listed(catalog["hip"]) == []
    assert AuditEvent.objects.get(action="catalog.package.components").detail["after"] == []


@pytest.mark.parametrize(
    ("package", "components", "message"),
    [
        ("hip", [("WEST-LAB", 1)], "another hospital's service"),
        ("hip", [("NO-SUCH", 1)], "has no service “NO-SUCH”"),
        ("hip", [("HIP-PKG", 1)], "cannot contain itself"),
        ("hip", [("CHECK-PKG", 1)], "“CHECK-PKG” is a package"),
        ("bed", [("HIP-OP", 1)], "Only a package lists services"),
        ("hip", [("BED-01", 0)], "from 1 to 999"),
        ("hip", [("BED-01", 1000)], "from 1 to 999"),
        ("hip", [("BED-01", 2), ("HIP-OP", 1), ("BED-01", 3)], "“BED-01” is listed twice"),
    ],
)
def test_bad_components_are_refused_on_the_components_field_and_nothing_changes(
    users, catalog, package, components, message
):
    before = {code: listed(item) for code, item in catalog.items()}
    with pytest.raises(InvalidInput) as refused:
        services.set_components(users["coordinator"], catalog[package], components)
    assert refused.value.field == "components"
    assert message in str(refused.value.message)
    assert {code: listed(item) for code, item in catalog.items()} == before
    assert not AuditEvent.objects.filter(action__startswith="catalog.").exists()


@pytest.mark.parametrize(
    "role", ["other_coordinator", "other_admin", "clinician", "finance", "patient", "insurer_agent", "platform_admin"]
)
def test_nobody_but_the_hospitals_editors_changes_a_package(users, catalog, role):
    with pytest.raises(PermissionDenied):
        services.set_components(users[role], catalog["hip"], [("BED-01", 1)])
    with pytest.raises(PermissionDenied):
        services.set_standard_codes(users[role], catalog["hip"], [{"system": "CPT", "code": "27130"}])
    catalog["hip"].refresh_from_db()
    assert listed(catalog["hip"]) == [("BED-01", 5), ("HIP-OP", 1)] and catalog["hip"].standard_codes == []
    assert not AuditEvent.objects.filter(action__startswith="catalog.").exists()


def test_a_package_with_services_keeps_its_kind_and_a_service_of_a_package_stays_a_service(users, catalog):
    hip, bed = catalog["hip"], catalog["bed"]
    with pytest.raises(InvalidInput) as refused:
        services.save_item(users["coordinator"], hip.hospital, item_data(hip, kind=Kind.PROCEDURE), item=hip)
    assert refused.value.field == "kind" and "remove them" in str(refused.value.message)
    with pytest.raises(InvalidInput) as refused:
        services.save_item(users["coordinator"], bed.hospital, item_data(bed, kind=Kind.PACKAGE), item=bed)
    assert refused.value.field == "kind" and "“HIP-PKG”" in str(refused.value.message)
    # Emptying the package in the same change lets it become a procedure.
    services.save_item(users["coordinator"], hip.hospital, item_data(hip, kind=Kind.PROCEDURE, components=""), item=hip)
    assert CatalogItem.objects.get(pk=hip.pk).kind == Kind.PROCEDURE and listed(hip) == []


def test_editors_set_standard_codes_and_the_change_is_audited(users, catalog):
    hip = catalog["hip"]
    codes = [{"system": " ICD-9-CM-3 ", "code": "81.51"}, ("CHS-DRG", "IC29")]
    services.set_standard_codes(users["hospital_admin"], hip, codes)
    hip.refresh_from_db()
    assert hip.standard_codes == [{"system": "ICD-9-CM-3", "code": "81.51"}, {"system": "CHS-DRG", "code": "IC29"}]
    assert "ic29" in hip.search_text
    event = AuditEvent.objects.get(action="catalog.item.update")
    assert event.actor == users["hospital_admin"] and event.detail["changed"] == ["standard_codes"]
    assert event.detail["before"] == [] and event.detail["after"] == hip.standard_codes


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ([{"system": "", "code": "70551"}], "with its system"),
        ([{"system": "CPT", "code": " "}], "with its system"),
        ([{"system": "CPT:X", "code": "70551"}], "is not a code system"),
        ([{"system": "CPT", "code": "70551 | 70552"}], "cannot hold"),
        ([{"system": "X" * 41, "code": "1"}], "too long"),
        ([{"system": "CPT", "code": "70551"}, {"system": "cpt", "code": "70551"}], "listed twice"),
    ],
)
def test_bad_standard_codes_are_refused_on_their_field(users, mri, codes, message):
    with pytest.raises(InvalidInput) as refused:
        services.set_standard_codes(users["coordinator"], mri, codes)
    assert refused.value.field == "standard_codes" and message in str(refused.value.message)
    mri.refresh_from_db()
    assert mri.standard_codes == []
    assert not AuditEvent.objects.filter(action__startswith="catalog.").exists()


# The edit page


def test_the_package_page_lists_its_services_with_their_quantities(client, users, catalog):
    client.force_login(users["coordinator"])
    response = client.get(f"/en/manage/catalog/{catalog['hip'].pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "What the package contains" in page
    assert f'href="/en/manage/catalog/{catalog["bed"].pk}/"' in page and "Single room, per day" in page
    assert [(c.item.code, c.quantity) for c in response.context["components"]] == [("BED-01", 5), ("HIP-OP", 1)]
    assert "BED-01 x 5\nHIP-OP x 1</textarea>" in page


def test_a_service_page_has_no_package_section_but_edits_standard_codes(client, users, mri):
    client.force_login(users["coordinator"])
    page = client.get(f"/en/manage/catalog/{mri.pk}/").content.decode()
    assert 'name="components"' not in page and 'name="standard_codes"' in page
    response = client.post(
        f"/en/manage/catalog/{mri.pk}/", item_data(mri, standard_codes="CPT:70551\n LOINC : 24590-2")
    )
    assert response.status_code == 302
    mri.refresh_from_db()
    assert mri.standard_codes == [{"system": "CPT", "code": "70551"}, {"system": "LOINC", "code": "24590-2"}]
    assert "standard_codes" in AuditEvent.objects.get(action="catalog.item.update").detail["changed"]


def test_editing_the_package_on_its_page_replaces_its_services(client, users, catalog):
    client.force_login(users["coordinator"])
    hip = catalog["hip"]
    response = client.post(f"/en/manage/catalog/{hip.pk}/", item_data(hip, components="HIP-OP\nBED-01 × 7\nMRI-01*2"))
    assert response.status_code == 302
    assert listed(hip) == [("BED-01", 7), ("HIP-OP", 1), ("MRI-01", 2)]
    actions = list(
        AuditEvent.objects.filter(action__startswith="catalog.").order_by("pk").values_list("action", flat=True)
    )
    assert actions == ["catalog.item.update", "catalog.package.components"]


def test_bad_page_input_is_shown_beside_the_fields_with_status_422(client, users, catalog):
    client.force_login(users["coordinator"])
    hip = catalog["hip"]
    data = item_data(hip, components="BED-01 x 2\nCHECK-PKG x 1\nBED-01 x two", standard_codes="CPT 27130")
    response = client.post(f"/en/manage/catalog/{hip.pk}/", data)
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert set(errors) == {"components", "standard_codes"}
    assert errors["components"] == ["Line 3: the quantity “two” is not a whole number."]
    assert errors["standard_codes"] == ["Line 1: “CPT 27130” is not of the form SYSTEM:code."]
    page = response.content.decode()
    assert "Line 3: the quantity “two” is not a whole number." in page
    # Once the lines read, the services are checked against the catalog, every problem listed.
    response = client.post(
        f"/en/manage/catalog/{hip.pk}/", item_data(hip, components="BED-01 x 2\nCHECK-PKG x 1\nNOPE")
    )
    assert response.status_code == 422
    assert response.context["form"].errors["components"] == [
        "“CHECK-PKG” is a package: a package contains services, not other packages.",
        "This hospital's catalog has no service “NOPE”.",
    ]
    assert listed(hip) == [("BED-01", 5), ("HIP-OP", 1)]
    assert not AuditEvent.objects.filter(action__startswith="catalog.").exists()


def test_a_new_package_is_created_with_its_services(client, users, catalog, hospital):
    client.force_login(users["hospital_admin"])
    assert 'name="components"' in client.get("/en/manage/catalog/new/").content.decode()
    data = item_data(code="KNEE-PKG", kind=Kind.PACKAGE, components="HIP-OP x 1\nBED-01 x 4")
    response = client.post("/en/manage/catalog/new/", data)
    assert response.status_code == 302
    knee = CatalogItem.objects.get(hospital=hospital, code="KNEE-PKG")
    assert listed(knee) == [("BED-01", 4), ("HIP-OP", 1)]
    assert set(AuditEvent.objects.filter(action__startswith="catalog.").values_list("action", flat=True)) == {
        "catalog.item.create",
        "catalog.package.components",
    }


def test_another_hospitals_coordinator_cannot_post_a_packages_services(client, users, catalog):
    client.force_login(users["other_coordinator"])
    hip = catalog["hip"]
    response = client.post(f"/en/manage/catalog/{hip.pk}/", item_data(hip, components="WEST-LAB x 1"))
    assert response.status_code == 403
    assert listed(hip) == [("BED-01", 5), ("HIP-OP", 1)]


# The API


def package_payload(**changes):
    payload = {
        "code": "HIP-PKG",
        "kind": "package",
        "department": "orthopaedics",
        "name": {"en": "Hip replacement package", "zh-hans": "髋关节置换套餐"},
        "stay_days": 7,
    }
    payload.update(changes)
    return payload


def test_api_sets_services_and_standard_codes_and_shows_them(client, users, catalog):
    hip = catalog["hip"]
    payload = package_payload(
        components=[{"code": "HIP-OP", "quantity": 1}, {"code": "BED-01", "quantity": 6}],
        standard_codes=[{"system": "ICD-9-CM-3", "code": "81.51"}],
    )
    response = client.put(
        f"/api/catalog/manage/items/{hip.pk}",
        payload,
        content_type="application/json",
        headers=bearer(users["coordinator"]),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["components"] == [
        {
            "code": "BED-01",
            "name": {"en": "Single room, per day", "zh-hans": "单人病房"},
            "kind": "inpatient_day",
            "quantity": 6,
        },
        {
            "code": "HIP-OP",
            "name": {"en": "Hip replacement", "zh-hans": "髋关节置换术"},
            "kind": "procedure",
            "quantity": 1,
        },
    ]
    assert body["standard_codes"] == [{"system": "ICD-9-CM-3", "code": "81.51"}]
    assert listed(hip) == [("BED-01", 6), ("HIP-OP", 1)]
    assert AuditEvent.objects.filter(action="catalog.package.components", object_id=str(hip.pk)).count() == 1


def test_api_without_the_lists_keeps_them(client, users, catalog):
    hip = catalog["hip"]
    services.set_standard_codes(users["coordinator"], hip, [{"system": "CPT", "code": "27130"}])
    response = client.put(
        f"/api/catalog/manage/items/{hip.pk}",
        package_payload(keywords="hip 髋"),
        content_type="application/json",
        headers=bearer(users["coordinator"]),
    )
    assert response.status_code == 200
    hip.refresh_from_db()
    assert listed(hip) == [("BED-01", 5), ("HIP-OP", 1)]
    assert hip.standard_codes == [{"system": "CPT", "code": "27130"}] and hip.keywords == "hip 髋"
    assert (
        "standard_codes"
        not in AuditEvent.objects.filter(action="catalog.item.update").order_by("pk").last().detail["changed"]
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"components": [{"code": "WEST-LAB", "quantity": 1}]}, "components"),
        ({"components": [{"code": "BED-01", "quantity": 1000}]}, "components"),
        ({"standard_codes": [{"system": "CPT|X", "code": "1"}]}, "standard_codes"),
    ],
)
def test_api_refuses_bad_lists_naming_the_field_and_saves_nothing(client, users, catalog, changes, field):
    hip = catalog["hip"]
    response = client.put(
        f"/api/catalog/manage/items/{hip.pk}",
        package_payload(keywords="changed", **changes),
        content_type="application/json",
        headers=bearer(users["coordinator"]),
    )
    assert response.status_code == 422 and response.json()["field"] == field
    hip.refresh_from_db()
    assert hip.keywords != "changed" and listed(hip) == [("BED-01", 5), ("HIP-OP", 1)]


def test_api_creates_a_package_with_its_services(client, users, catalog, hospital):
    payload = package_payload(code="KNEE-PKG", components=[{"code": "HIP-OP"}, {"code": "BED-01", "quantity": 3}])
    response = client.post(
        "/api/catalog/manage/items", payload, content_type="application/json", headers=bearer(users["hospital_admin"])
    )
    assert response.status_code == 201, response.content
    assert [(c["code"], c["quantity"]) for c in response.json()["components"]] == [("BED-01", 3), ("HIP-OP", 1)]
    assert listed(hospital.catalog.get(code="KNEE-PKG")) == [("BED-01", 3), ("HIP-OP", 1)]


def test_api_refuses_services_for_another_hospitals_package(client, users, catalog):
    hip = catalog["hip"]
    response = client.put(
        f"/api/catalog/manage/items/{hip.pk}",
        package_payload(components=[{"code": "WEST-LAB", "quantity": 1}]),
        content_type="application/json",
        headers=bearer(users["other_coordinator"]),
    )
    assert response.status_code == 403
    assert listed(hip) == [("BED-01", 5), ("HIP-OP", 1)]


def test_public_item_shows_a_packages_services_and_search_results_keep_their_shape(client, catalog, mri):
    body = client.get("/api/catalog/items/east/HIP-PKG").json()
    assert [(c["code"], c["quantity"]) for c in body["components"]] == [("BED-01", 5), ("HIP-OP", 1)]
    assert client.get(f"/api/catalog/items/east/{mri.code}").json()["components"] is None
    result = client.get("/api/catalog/search", {"q": "hip", "kind": "package"}).json()["results"][0]
    assert result["code"] == "HIP-PKG" and "components" not in result


# The CSV price file


def test_csv_round_trip_carries_a_packages_services_to_another_hospital(catalog, hospital, other_hospital):
    text = export_csv(hospital)
    assert "BED-01*5;HIP-OP*1" in text
    summary = import_catalog(None, other_hospital, text)
    assert summary.packages_changed == 1  # HIP-PKG; CHECK-PKG lists none, as a new item has none
    copy = other_hospital.catalog.get(code="HIP-PKG")
    assert listed(copy) == listed(catalog["hip"]) == [("BED-01", 5), ("HIP-OP", 1)]
    assert {c.item.hospital_id for c in services.components_of(copy)} == {other_hospital.pk}
    assert import_catalog(None, other_hospital, export_csv(other_hospital)).packages_changed == 0


def test_a_changed_list_in_the_file_replaces_the_packages_services(catalog, hospital):
    text = edit_csv(export_csv(hospital), {rows(hospital)["HIP-PKG"]: {"package_components": "HIP-OP*1; BED-01*8"}})
    assert import_catalog(None, hospital, text).packages_changed == 1
    assert listed(catalog["hip"]) == [("BED-01", 8), ("HIP-OP", 1)]


def rows(hospital) -> dict[str, int]:
    """Each item's row number in the hospital's exported CSV."""
    records = list(csv.reader(io.StringIO(export_csv(hospital))))
    column = records[2].index("code | 1")
    return {record[column]: number for number, record in enumerate(records[3:], start=4)}


def test_bad_package_cells_reject_the_file_by_row_and_column(catalog, hospital):
    at = rows(hospital)
    text = edit_csv(
        export_csv(hospital),
        {
            at["HIP-PKG"]: {"package_components": "HIP-OP*1;BED-01*0;GHOST*1"},
            at["CHECK-PKG"]: {"package_components": "HIP-PKG*1;CHECK-PKG*1;BED-01*x"},
            at["BED-01"]: {"package_components": "HIP-OP*1"},
        },
        extra_rows=[{"code | 1": "WEST-PKG", "kind": "package", "package_components": "WEST-LAB*1;BED-01*1;BED-01*2"}],
    )
    with pytest.raises(FileRejected) as rejected:
        import_catalog(None, hospital, text)
    problems = [(e.row, e.column, e.message) for e in rejected.value.errors]
    assert {(row, column) for row, column, _message in problems} == {
        (at["BED-01"], "package_components"),
        (at["CHECK-PKG"], "package_components"),
        (at["HIP-PKG"], "package_components"),
        (max(at.values()) + 1, "package_components"),
    }
    messages = " ".join(message for _row, _column, message in problems)
    for expected in (
        "Only a package lists services",
        "“BED-01*x” is not of the form CODE*QUANTITY.",
        "from 1 to 999",
        "has no service “GHOST”",
        "another hospital's service",
        "“BED-01” is listed twice",
    ):
        assert expected in messages, expected
    assert listed(catalog["hip"]) == [("BED-01", 5), ("HIP-OP", 1)] and not hospital.catalog.filter(code="WEST-PKG")
    # A package named in another row of the same file is a package too.
    text = edit_csv(export_csv(hospital), {at["HIP-PKG"]: {"package_components": "CHECK-PKG*1"}})
    with pytest.raises(FileRejected) as rejected:
        import_catalog(None, hospital, text)
    assert [(e.row, e.column) for e in rejected.value.errors] == [(at["HIP-PKG"], "package_components")]
    assert "“CHECK-PKG” is a package" in rejected.value.errors[0].message


def test_a_file_without_the_column_keeps_the_packages_services_and_their_kinds(catalog, hospital):
    records = list(csv.reader(io.StringIO(export_csv(hospital))))
    drop = records[2].index("package_components")
    records = [r[:drop] + r[drop + 1 :] for r in records]
    out = io.StringIO()
    csv.writer(out).writerows(records)
    summary = import_catalog(None, hospital, out.getvalue())
    assert summary.packages_changed == 0 and listed(catalog["hip"]) == [("BED-01", 5), ("HIP-OP", 1)]
    at = rows(hospital)
    kind = records[2].index("kind")
    records[at["HIP-PKG"] - 1][kind] = "procedure"
    records[at["BED-01"] - 1][kind] = "package"
    out = io.StringIO()
    csv.writer(out).writerows(records)
    with pytest.raises(FileRejected) as rejected:
        import_catalog(None, hospital, out.getvalue())
    assert sorted((e.row, e.column) for e in rejected.value.errors) == sorted(
        [(at["HIP-PKG"], "kind"), (at["BED-01"], "kind")]
    )
    assert CatalogItem.objects.get(code="HIP-PKG", hospital=hospital).kind == Kind.PACKAGE


def test_bad_standard_codes_in_the_file_are_refused_like_on_the_page(catalog, hospital, other_hospital):
    at = rows(hospital)
    text = edit_csv(export_csv(hospital), {at["BED-01"]: {"standard_codes": "CPT:99221 | cpt:99221"}})
    with pytest.raises(FileRejected) as rejected:
        import_catalog(None, other_hospital, text)
    assert [(e.row, e.column) for e in rejected.value.errors] == [(at["BED-01"], "standard_codes")]
    assert "listed twice" in rejected.value.errors[0].message
