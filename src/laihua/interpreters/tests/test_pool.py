"""The interpreter pool: kept by the hospital's desk, invisible to other hospitals and other roles, checked
field by field, audited, and exported and imported as CSV."""

import pytest

from laihua.accounts.models import Role
from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.interpreters import services
from laihua.interpreters.models import Interpreter
from laihua.kit.csvdata import from_spreadsheet
from tests.builders import make_user

pytestmark = pytest.mark.django_db
API = "/api/interpreters"


def auth(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_token(user, user, 'test')[1]}"}


BODY = {
    "name": "Wang Fang",
    "employment": "agency",
    "agency": "Shanghai Medical Language Services",
    "languages": ["en", "fr"],
    "level": "certified_medical",
    "works_from": "08:30",
    "works_until": "17:30",
    "weekdays": [1, 2, 3, 4, 5],
    "phone": "+86 21 5555 0101",
}


def post(client, user, body, path=""):
    return client.post(f"{API}{path}", body, content_type="application/json", **auth(user))


def test_the_desk_keeps_the_pool_over_the_api(client, users):
    created = post(client, users["coordinator"], BODY)
    assert created.status_code == 201, created.content
    person = created.json()
    assert person["languages"] == ["en", "fr"] and person["works_from"] == "08:30" and person["agency"]
    pk = person["id"]
    changed = client.put(
        f"{API}/{pk}",
        {**BODY, "languages": ["en"], "employment": "staff"},
        content_type="application/json",
        **auth(users["hospital_admin"]),
    )
    assert changed.status_code == 200 and changed.json()["languages"] == ["en"] and changed.json()["agency"] == ""
    away = post(client, users["coordinator"], {"starts_on": "2027-01-04", "ends_on": "2027-01-08"}, f"/{pk}/absences")
    assert away.status_code == 201
    assert client.get(f"{API}/{pk}", **auth(users["coordinator"])).json()["absences"][0]["until"] == "2027-01-08"
    removed = client.delete(f"{API}/{pk}/absences/{away.json()['id']}", **auth(users["coordinator"]))
    assert removed.status_code == 204
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "interpreters.create",
        "interpreters.update",
        "interpreters.absence.create",
        "interpreters.absence.delete",
    } <= actions


def test_another_hospitals_pool_is_invisible(client, users, hospital):
    person = Interpreter.objects.create(hospital=hospital, name="Wang Fang", languages=["en"])
    assert client.get(f"{API}/{person.pk}", **auth(users["other_coordinator"])).status_code == 404
    assert client.get(API, **auth(users["other_coordinator"])).json() == []
    assert (
        client.put(
            f"{API}/{person.pk}", BODY, content_type="application/json", **auth(users["other_admin"])
        ).status_code
        == 404
    )
    assert [p["name"] for p in client.get(API, **auth(users["coordinator"])).json()] == ["Wang Fang"]


@pytest.mark.parametrize("role", ["clinician", "finance", "patient", "insurer_agent", "platform_admin"])
def test_other_roles_are_refused(client, users, role):
    assert client.get(API, **auth(users[role])).status_code == 403
    assert post(client, users[role], BODY).status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"languages": ["xx1"]}, "languages"),
        ({"languages": []}, "languages"),
        ({"employment": "agency", "agency": ""}, "agency"),
        ({"works_from": "18:00", "works_until": "09:00"}, "works_until"),
        ({"weekdays": []}, "weekdays"),
        ({"level": "expert"}, "level"),
        ({"username": "nobody"}, "username"),
    ],
)
def test_a_bad_value_names_its_field(client, users, change, field):
    response = post(client, users["coordinator"], {**BODY, **change})
    assert response.status_code == 422 and response.json()["field"] == field, response.content


def test_an_account_must_be_an_interpreter_of_the_same_hospital(client, users, hospital, other_hospital):
    mine = make_user("east-interp", Role.INTERPRETER, hospital)
    theirs = make_user("west-interp", Role.INTERPRETER, other_hospital)
    assert post(client, users["coordinator"], {**BODY, "username": theirs.username}).status_code == 422
    assert post(client, users["coordinator"], {**BODY, "username": users["clinician"].username}).status_code == 422
    linked = post(client, users["coordinator"], {**BODY, "username": mine.username})
    assert linked.status_code == 201 and linked.json()["username"] == "east-interp"
    again = post(client, users["coordinator"], {**BODY, "name": "Li Lei", "username": mine.username})
    assert again.status_code == 422 and again.json()["field"] == "username"


def test_an_interpreter_account_needs_a_hospital():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        make_user("floating", Role.INTERPRETER)


def test_csv_export_and_import_round_trip(client, users, hospital):
    post(client, users["coordinator"], BODY)
    pk = Interpreter.objects.get().pk
    post(client, users["coordinator"], {"starts_on": "2027-02-01", "ends_on": "2027-02-03"}, f"/{pk}/absences")
    text = client.get(f"{API}/export.csv", **auth(users["coordinator"])).content.decode()
    header, row = text.splitlines()[:2]
    assert header.startswith("name,employment,agency,languages") and "2027-02-01/2027-02-03" in row
    Interpreter.objects.all().delete()
    added = client.post(f"{API}/import", text, content_type="text/csv", **auth(users["coordinator"]))
    assert added.status_code == 200 and added.json() == {"added": 1, "changed": 0}
    person = Interpreter.objects.get()
    assert person.languages == ["en", "fr"] and person.absences.get().starts_on.isoformat() == "2027-02-01"
    again = services.import_csv(users["coordinator"], text.replace("en fr", "en fr ru"))
    assert again == {"added": 0, "changed": 1} and Interpreter.objects.get().languages == ["en", "fr", "ru"]


def test_a_bad_csv_row_names_row_and_column_and_saves_nothing(client, users):
    text = "name,languages,weekdays\nWang Fang,en,1 2 3\nLi Lei,klingon,1\n"
    response = client.post(f"{API}/import", text, content_type="text/csv", **auth(users["coordinator"]))
    assert response.status_code == 422
    assert response.json()["field"] == "languages" and "row 3" in response.json()["detail"]
    assert not Interpreter.objects.exists()


def test_a_formula_is_exported_as_text(users, hospital):
    Interpreter.objects.create(hospital=hospital, name="=HYPERLINK(1)", languages=["en"])
    row = services.export_csv(users["coordinator"]).splitlines()[1]
    assert row.startswith("'=HYPERLINK") and from_spreadsheet(row.split(",")[0]) == "=HYPERLINK(1)"


def test_pages_list_add_and_record_days_away(client, users):
    client.force_login(users["coordinator"])
    page = client.get("/en/interpreters/")
    assert page.status_code == 200 and 'id="no-interpreters"' in page.content.decode()
    data = {**BODY, "languages": "en ru", "weekdays": ["1", "3"], "active": "on"}
    assert client.post("/en/interpreters/", data).status_code == 302
    person = Interpreter.objects.get()
    assert person.weekdays == [1, 3] and person.languages == ["en", "ru"]
    listing = client.get("/en/interpreters/").content.decode()
    assert "Wang Fang" in listing and "Russian" in listing
    bad = client.post("/en/interpreters/", {**data, "name": "Li Lei", "languages": "qqq"})
    assert bad.status_code == 422 and "ISO 639" in bad.content.decode()
    assert (
        client.post(
            f"/en/interpreters/{person.pk}/days-away/", {"starts_on": "2027-03-02", "ends_on": "2027-03-01"}
        ).status_code
        == 422
    )
    assert (
        client.post(
            f"/en/interpreters/{person.pk}/days-away/", {"starts_on": "2027-03-01", "ends_on": "2027-03-02"}
        ).status_code
        == 302
    )
    assert "2027" in client.get(f"/en/interpreters/{person.pk}/").content.decode()
    zh = client.get("/zh-hans/interpreters/").content.decode()
    assert "俄语" in zh
    client.force_login(users["clinician"])
    assert client.get("/en/interpreters/").status_code == 403
    client.force_login(users["other_coordinator"])
    assert client.get(f"/en/interpreters/{person.pk}/").status_code == 404


def test_the_command_line_exports_and_imports(users, hospital, tmp_path):
    import io

    from django.core.management import CommandError, call_command

    Interpreter.objects.create(hospital=hospital, name="Wang Fang", languages=["en"])
    out = io.StringIO()
    call_command("interpreters", "export", "--as", users["coordinator"].username, stdout=out)
    path = tmp_path / "pool.csv"
    path.write_text(out.getvalue().replace("Wang Fang", "Li Lei"), encoding="utf-8")
    done = io.StringIO()
    call_command("interpreters", "import", str(path), "--as", users["coordinator"].username, stdout=done)
    assert "1 added" in done.getvalue() and Interpreter.objects.count() == 2
    with pytest.raises(CommandError):
        call_command("interpreters", "export", "--as", users["clinician"].username, stdout=io.StringIO())


def test_the_admin_gives_an_interpreter_account_one_hospital(hospital):
    from django import forms

    from laihua.accounts.admin import check_role_and_hospital

    with pytest.raises(forms.ValidationError):
        check_role_and_hospital({"role": Role.INTERPRETER, "hospital": None})
    check_role_and_hospital({"role": Role.INTERPRETER, "hospital": hospital})
    with pytest.raises(forms.ValidationError):
        check_role_and_hospital({"role": Role.PATIENT, "hospital": hospital})
