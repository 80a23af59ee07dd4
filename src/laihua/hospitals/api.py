from django.urls import reverse
from ninja import Router

from laihua.hospitals import services
from laihua.hospitals.schemas import HospitalOut

router = Router(tags=["hospitals"])


def hospital_out(hospital) -> dict:
    return {
        "slug": hospital.slug,
        "name": hospital.name,
        "city": hospital.city.slug,
        "city_name": hospital.city.name,
        "address": hospital.address,
        "accreditations": hospital.accreditations,
        "languages": hospital.languages,
        "intl_department": hospital.intl_department,
        "intl_phone": hospital.intl_phone,
        "intl_email": hospital.intl_email,
        "intl_hours": hospital.intl_hours,
        "website": hospital.website,
        "is_demo": hospital.is_demo,
        "departments": [{"code": d.code, "name": d.name} for d in hospital.departments.all()],
        "price_file_json": reverse("price_file_json", args=[hospital.slug]),
        "price_file_csv": reverse("price_file_csv", args=[hospital.slug]),
    }


@router.get("", response=list[HospitalOut], summary="List hospitals with their slugs")
def list_hospitals(request, city: str = ""):
    return [hospital_out(h) for h in services.public_hospitals(city)]


@router.get("/{slug}", response=HospitalOut, summary="One hospital's profile")
def get_hospital(request, slug: str):
    return hospital_out(services.public_hospital(slug))
