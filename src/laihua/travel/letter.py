"""What the invitation letter prints, from its snapshot: Chinese beside the patient's language.

The Chinese text is the letter's original and is written here and in the template as it is printed;
the second language goes through gettext in that language, so a translation of the site is a
translation of the letter.
"""

import datetime

from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from laihua.patients.models import Sex
from laihua.travel.models import Payer

CHINESE = "zh-hans"
SEX_ZH = {Sex.FEMALE: "女", Sex.MALE: "男", Sex.OTHER: "未指明（X）"}
PAYER_ZH = {Payer.SELF: "本人自费", Payer.INSURER: "保险公司", Payer.OTHER: "其他付款方"}


def zh_date(value: str) -> str:
    day = datetime.date.fromisoformat(value)
    return f"{day.year}年{day.month}月{day.day}日"


def local_date(value: str) -> str:
    """The date in the active language, with the ISO form beside it so that no reader mistakes it."""
    day = datetime.date.fromisoformat(value)
    return f"{date_format(day, 'j F Y')} ({value})"


def _payer(payer: dict) -> tuple[str, str]:
    kind, name = payer.get("kind"), payer.get("name", "")
    zh = PAYER_ZH.get(kind, "")
    if kind == Payer.SELF:
        local = _("The patient pays the costs of treatment and stay.")
    elif kind == Payer.INSURER:
        local = _("Paid by the insurer %(name)s.") % {"name": name}
        zh = f"{zh}：{name}"
    else:
        local = _("Paid by %(name)s.") % {"name": name}
        zh = f"{zh}：{name}"
    return zh, local


def _person(person: dict, language: str) -> dict:
    return {
        **person,
        "sex_zh": SEX_ZH.get(person["sex"], person["sex"]),
        "sex_local": str(Sex(person["sex"]).label) if person["sex"] in Sex.values else person["sex"],
        "dob_zh": zh_date(person["date_of_birth"]),
        "dob_local": local_date(person["date_of_birth"]),
        "nationality_zh": person["nationality"]["name"].get(CHINESE, person["nationality"]["code"]),
        "nationality_local": person["nationality"]["name"].get(language)
        or person["nationality"]["name"].get("en", person["nationality"]["code"]),
    }


def letter_context(snapshot: dict, language: str) -> dict:
    """The template's context, its language-dependent strings made in `language` (the second one)."""
    with translation.override(language):
        payer_zh, payer_local = _payer(snapshot["payer"])
        invitee = _person(snapshot["invitee"], language)
        companions = [_person(companion, language) for companion in snapshot.get("companions", [])]
        dates = {
            "arrival_zh": zh_date(snapshot["arrival"]),
            "departure_zh": zh_date(snapshot["departure"]),
            "issued_zh": zh_date(snapshot["issued_on"]),
            "arrival_local": local_date(snapshot["arrival"]),
            "departure_local": local_date(snapshot["departure"]),
            "issued_local": local_date(snapshot["issued_on"]),
        }
    local = language if language != CHINESE else "en"
    inviter = snapshot["inviter"]
    return {
        "letter": snapshot,
        "invitee": invitee,
        "companions": companions,
        "payer_zh": payer_zh,
        "payer_local": payer_local,
        "inviter": {
            **inviter,
            **{key: _pair(inviter[key], local) for key in ("name", "department", "address")},
            **{key: _pair(inviter[key], local) for key in ("signatory_name", "signatory_title")},
        },
        "places": [
            {key: _pair(place[key], local) for key in ("city", "hospital", "address")} for place in snapshot["places"]
        ],
        "department": _pair(snapshot["department"], local) if snapshot.get("department") else None,
        "services": [_pair(service, local) for service in snapshot.get("services", [])],
        **dates,
    }


def _pair(texts: dict, local: str) -> dict:
    """{"zh": the Chinese text, "local": the text in the second language}, each falling back to the other."""
    zh = texts.get(CHINESE) or texts.get("en", "")
    return {"zh": zh, "local": texts.get(local) or texts.get("en") or zh}
