from ninja import Schema


class DepartmentOut(Schema):
    code: str
    name: dict[str, str]


class HospitalOut(Schema):
    slug: str
    name: dict[str, str]
    city: str
    city_name: dict[str, str]
    address: dict[str, str]
    accreditations: list[str]
    languages: list[str]
    intl_department: dict[str, str]
    intl_phone: str
    intl_email: str
    intl_hours: dict[str, str]
    website: str
    is_demo: bool
    departments: list[DepartmentOut]
    price_file_json: str
    price_file_csv: str
