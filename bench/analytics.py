"""Analytics benchmark: 50 hospitals × 20,000 cases over three years in PostgreSQL, measured through gunicorn.

    .venv/bin/python bench/analytics.py [--clients 2] [--requests 100] [--workers 3] [--reload]
                                        [--hospitals 50] [--cases 20000]

Creates (or reuses) the database in DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/laihua_bench),
migrates it, and generates once (COPY, a few minutes) the benchmark hospitals' cases with their services, first
answers, quotes, arrivals and discharges, statements and payments; then builds the analytics roll-ups with the
refresh job (`laihua analytics refresh`). Later runs reuse both. It starts gunicorn on a free loopback port and
measures, from closed-loop clients (each sends its next request when the last one answered), the hospital
dashboard (`/en/analytics/hospitals/<slug>/`, each client signed in as a hospital admin, hospitals in turn), the
city dashboard (`/en/analytics/city/`, the city health commission) and the public fairness page
(`/en/fairness/`) if that route answers 200. Prints p50, p95 and throughput for each; the last line is
`analytics: hospital p95 <X> ms, city p95 <Y> ms, fairness p95 <Z> ms at <N> cases`. Goal: each under 300 ms on
the 2-core machine.
"""

import argparse
import datetime
import json
import os
import random
import statistics
import sys
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import DEFAULT_URL, ensure_database, server_environment, start_server  # noqa: E402  the same harness

SLUG_PREFIX = "anbench-"
COUNTRIES = ["US", "GB", "RU", "KZ", "DE", "AU", "JP", "KR"]
DEPARTMENTS = [
    ("radiology", "Radiology", "放射科"),
    ("orthopaedics", "Orthopaedics", "骨科"),
    ("cardiology", "Cardiology", "心内科"),
    ("health-check", "Health Check-up", "健康体检"),
]
SERVICES = [
    ("MRI", "radiology", "imaging", "MRI scan", "磁共振成像"),
    ("CT", "radiology", "imaging", "CT scan", "CT检查"),
    ("HIP", "orthopaedics", "surgery", "Hip replacement", "髋关节置换"),
    ("KNEE", "orthopaedics", "surgery", "Knee arthroscopy", "膝关节镜"),
    ("ECHO", "cardiology", "imaging", "Echocardiogram", "超声心动图"),
    ("CHECK", "health-check", "package", "Executive check-up", "高端体检"),
]
INSURERS = ["Global Care", "Pacific Cross", "Nordic Health", "Allied Assist"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=2, help="concurrent clients (default 2)")
    parser.add_argument("--requests", type=int, default=100, help="requests per client and page (default 100)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument("--hospitals", type=int, default=50, help="benchmark hospitals (default 50)")
    parser.add_argument("--cases", type=int, default=20000, help="cases per hospital (default 20,000)")
    parser.add_argument("--reload", action="store_true", help="delete and generate the benchmark data again")
    return parser.parse_args()


class Copier:
    """Rows of one model written with COPY: every concrete column, its default unless given."""

    def __init__(self, model):
        from django.db.models import JSONField

        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self.columns = [f.column for f in self.fields]
        self.json = {f.attname for f in self.fields if isinstance(f, JSONField)}
        self.defaults = {f.attname: (f.get_default() if f.has_default() or not f.null else None) for f in self.fields}
        self.rows: list[tuple] = []

    def add(self, **values) -> None:
        row = []
        for f in self.fields:
            value = values[f.attname] if f.attname in values else self.defaults[f.attname]
            if f.attname in self.json:
                value = json.dumps(value)
            row.append(value)
        self.rows.append(tuple(row))

    def flush(self, cursor) -> int:
        table = self.model._meta.db_table
        with cursor.copy(f"COPY {table} ({', '.join(self.columns)}) FROM STDIN") as copy:
            for row in self.rows:
                copy.write_row(row)
        count, self.rows = len(self.rows), []
        return count


def _bench_hospitals():
    from laihua.hospitals.models import Hospital

    return Hospital.objects.filter(slug__startswith=SLUG_PREFIX)


def set_up(args) -> None:
    """The hospitals, their staff, catalog and patients by the ORM; cases and what followed them by COPY."""
    from django.db import connection, transaction

    from laihua.accounts.models import Role, User
    from laihua.analytics.models import CubeMonth, HospitalMonth, RefreshState
    from laihua.billing.models import Invoice, Payment
    from laihua.cases.models import Case, CaseEvent
    from laihua.catalog.models import CatalogItem, Price
    from laihua.hospitals.models import City, Department, Hospital
    from laihua.patients.models import Patient
    from laihua.quotes.models import Quote

    expected = args.hospitals * args.cases
    bench = _bench_hospitals()
    if not args.reload and Case.objects.filter(hospital__in=bench).count() == expected:
        print(f"reusing the generated benchmark data ({expected} cases)")
        return
    started = time.perf_counter()
    with transaction.atomic():
        ids = list(bench.values_list("pk", flat=True))
        for model in (HospitalMonth, CubeMonth, RefreshState):
            model.objects.filter(hospital_id__in=ids).delete()
        with connection.cursor() as cursor:
            if ids:
                marks = ",".join(str(pk) for pk in ids)
                cases = f"SELECT id FROM cases_case WHERE hospital_id IN ({marks})"
                invoices = f"SELECT id FROM billing_invoice WHERE hospital_id IN ({marks})"
                cursor.execute(f"DELETE FROM billing_payment WHERE hospital_id IN ({marks})")
                cursor.execute(f"DELETE FROM billing_invoiceline WHERE invoice_id IN ({invoices})")
                cursor.execute(f"DELETE FROM billing_invoice WHERE hospital_id IN ({marks})")
                cursor.execute(f"DELETE FROM quotes_quote WHERE case_id IN ({cases})")
                cursor.execute(f"DELETE FROM cases_caseevent WHERE case_id IN ({cases})")
                cursor.execute(f"DELETE FROM cases_case_services WHERE case_id IN ({cases})")
                cursor.execute(f"DELETE FROM cases_case WHERE hospital_id IN ({marks})")
        CatalogItem.objects.filter(hospital__in=bench).delete()
        User.objects.filter(username__startswith=SLUG_PREFIX).delete()
        bench.delete()
        city = City.objects.get_or_create(slug="shanghai", defaults={"name": {"en": "Shanghai", "zh-hans": "上海"}})[0]
        User.objects.get_or_create(username=f"{SLUG_PREFIX}city", defaults={"role": Role.CITY_HEALTH_COMMISSION})
        patients = []
        for n, country in enumerate(COUNTRIES * 25):
            user = User.objects.create(username=f"{SLUG_PREFIX}patient-{n}", role=Role.PATIENT)
            patients.append(
                Patient.objects.create(
                    user=user,
                    family_name="Bench",
                    given_names=f"Patient {n}",
                    sex="F",
                    date_of_birth=datetime.date(1970, 1, 1),
                    nationality=country,
                    passport_number=f"B{n:07d}",
                    preferred_currency="USD",
                    email=f"bench{n}@example.test",
                )
            )
        plan = []
        for index in range(args.hospitals):
            hospital = Hospital.objects.create(
                slug=f"{SLUG_PREFIX}{index + 1:02d}",
                city=city,
                is_demo=True,
                pilot=index % 5 == 0,
                name={"en": f"Analytics Bench Hospital {index + 1}", "zh-hans": f"分析基准医院{index + 1}"},
                address={"en": "1 Bench Road", "zh-hans": "基准路1号"},
            )
            departments = {
                code: Department.objects.create(hospital=hospital, code=code, name={"en": en, "zh-hans": zh})
                for code, en, zh in DEPARTMENTS
            }
            items = []
            for code, department, kind, en, zh in SERVICES:
                item = CatalogItem.objects.create(
                    hospital=hospital,
                    code=code,
                    kind=kind,
                    department=departments[department],
                    name={"en": en, "zh-hans": zh},
                )
                Price.objects.create(
                    item=item,
                    effective_from=datetime.date(2020, 1, 1),
                    amount_min=Decimal("1000"),
                    amount_max=Decimal("1000"),
                )
                items.append(item)
            admin = User.objects.create(
                username=f"{SLUG_PREFIX}{index + 1:02d}-admin", role=Role.HOSPITAL_ADMIN, hospital=hospital
            )
            plan.append((hospital, admin, items))
    print(f"hospitals, staff, catalogs and patients in {time.perf_counter() - started:.0f} s")
    now = datetime.datetime.now(datetime.UTC)
    first = now - datetime.timedelta(days=3 * 365)
    span = (now - first).total_seconds()
    for hospital, admin, items in plan:
        rng = random.Random(hospital.slug)
        with transaction.atomic(), connection.cursor() as raw:
            cursor = raw.cursor  # psycopg's own cursor, for COPY
            next_case = Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            next_invoice = Invoice.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            cases, links, events = Copier(Case), Copier(Case.services.through), Copier(CaseEvent)
            quotes, invoices, payments = Copier(Quote), Copier(Invoice), Copier(Payment)
            for n in range(args.cases):
                pk = next_case + n + 1
                item = items[rng.randrange(len(items))]
                patient = patients[rng.randrange(len(patients))]
                opened = first + datetime.timedelta(seconds=rng.random() * span)
                answered = (
                    opened + datetime.timedelta(minutes=int(rng.lognormvariate(6, 1))) if rng.random() < 0.9 else None
                )
                state, moments = "inquiry", {}
                if answered and answered < now:
                    state = "triage"
                    steps = [
                        ("quoted", 0.75, 1, 10),
                        ("accepted", 0.65, 1, 7),
                        ("arrived", 0.8, 7, 40),
                        ("discharged", 0.95, 1, 14),
                    ]
                    moment = answered
                    for name, chance, low, high in steps:
                        moment = moment + datetime.timedelta(days=rng.randint(low, high), hours=rng.randint(0, 8))
                        if rng.random() > chance or moment > now:
                            break
                        state, moments[name] = name, moment
                else:
                    answered = None
                cases.add(
                    id=pk,
                    reference=f"AB{hospital.pk:03d}-{n:06d}",
                    inquiry_group=uuid.uuid4(),
                    patient_id=patient.pk,
                    hospital_id=hospital.pk,
                    department_id=item.department_id,
                    state=state,
                    created_at=opened,
                    first_response_at=answered,
                    state_changed_at=max([opened, *moments.values()]),
                    updated_at=max([opened, *moments.values()]),
                    language="en",
                )
                links.add(case_id=pk, catalogitem_id=item.pk)
                if "quoted" in moments:
                    accepted = moments.get("accepted")
                    quotes.add(
                        case_id=pk,
                        revision=1,
                        number=f"QAB{hospital.pk:03d}-{n:06d}",
                        status="accepted" if accepted else "sent",
                        quote_date=moments["quoted"].date(),
                        currency="USD",
                        total_cny=Decimal("1000.00"),
                        created_by_id=admin.pk,
                        created_at=moments["quoted"],
                        updated_at=accepted or moments["quoted"],
                        sent_at=moments["quoted"],
                        accepted_at=accepted,
                    )
                for name in ("arrived", "discharged"):
                    if name in moments:
                        events.add(case_id=pk, at=moments[name], kind="transition", to_state=name)
                if "discharged" in moments:
                    next_invoice += 1
                    issued = moments["discharged"].date()
                    total = Decimal(rng.randrange(200000, 6000000)) / 100
                    insured = rng.random() < 0.4
                    insurer_part = (total * Decimal("0.7")).quantize(Decimal("0.01")) if insured else Decimal("0.00")
                    invoices.add(
                        id=next_invoice,
                        case_id=pk,
                        hospital_id=hospital.pk,
                        number=f"IAB{hospital.pk:03d}-{n:06d}",
                        status="issued",
                        insurer_name=rng.choice(INSURERS) if insured else "",
                        currency="USD",
                        total_cny=total,
                        insurer_cny=insurer_part,
                        patient_cny=total - insurer_part,
                        issue_date=issued,
                        created_by_id=admin.pk,
                        created_at=moments["discharged"],
                        updated_at=moments["discharged"],
                        issued_at=moments["discharged"],
                    )
                    paid = [("balance", "patient", total - insurer_part, issued)]
                    if insured:
                        paid.append(
                            (
                                "remittance",
                                "insurer",
                                insurer_part,
                                issued + datetime.timedelta(days=rng.randint(10, 90)),
                            )
                        )
                    for k, (kind, payer, amount, received) in enumerate(paid):
                        if amount > 0 and received <= now.date():
                            payments.add(
                                invoice_id=next_invoice,
                                hospital_id=hospital.pk,
                                kind=kind,
                                payer=payer,
                                method="bank_transfer",
                                reference=f"P{n}-{k}",
                                amount=amount,
                                currency="CNY",
                                amount_cny=amount,
                                settled_cny=amount,
                                received_on=received,
                                idempotency_key=f"bench-{n}-{k}",
                                recorded_by_id=admin.pk,
                                recorded_at=moments["discharged"],
                            )
            for copier in (cases, links, events, quotes, invoices, payments):
                copier.flush(cursor)
        print(f"  {hospital.slug}: {args.cases} cases generated ({time.perf_counter() - started:.0f} s so far)")
    with connection.cursor() as cursor:
        for table in (
            "cases_case",
            "cases_case_services",
            "cases_caseevent",
            "quotes_quote",
            "billing_invoice",
            "billing_payment",
        ):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
            cursor.execute(f"ANALYZE {table}")
    print(f"generated {expected} cases in {time.perf_counter() - started:.0f} s")


def build_rollups() -> None:
    from laihua.analytics.models import RefreshState
    from laihua.analytics.services import refresh_all

    bench = list(_bench_hospitals().order_by("slug"))
    missing = [h for h in bench if not RefreshState.objects.filter(hospital=h).exists()]
    if not missing:
        print("reusing the analytics roll-ups")
        return
    started = time.perf_counter()
    refresh_all(hospitals=missing)
    print(
        f"refresh job: {len(missing)} hospitals rebuilt in {time.perf_counter() - started:.0f} s "
        f"({(time.perf_counter() - started) / len(missing):.1f} s each)"
    )


def build_snapshots() -> None:
    """The refresh job's snapshots of the default pages (services/snapshots.py), when the roll-ups were reused
    from a run without them, the default period moved on since, or they are older than the job would let them be
    (the pages read none older than an hour)."""
    from laihua.analytics.models import ViewSnapshot
    from laihua.analytics.services import figures, snapshots
    from laihua.analytics.services.access import parse_filters
    from laihua.kit import clock

    bench = list(_bench_hospitals().order_by("slug"))
    stale = []
    for hospital in bench:
        states = figures.refresh_stamps([hospital.pk])
        scope = figures.Scope([hospital], parse_filters(hospital), "month")
        key = figures.views_cache_key(scope, figures.stored_view_keys(figures.HOSPITAL_VIEWS), "en", states)
        recent = ViewSnapshot.objects.filter(built_at__gte=clock.now() - snapshots.RENEW_AFTER)
        if not recent.filter(key=key.removeprefix(figures.CACHE_PREFIX)).exists():
            stale.append(hospital)
    if not stale:
        print("reusing the page snapshots")
        return
    started = time.perf_counter()
    for hospital in stale:
        snapshots.snapshot_hospital(hospital)
    snapshots.snapshot_city()
    print(f"page snapshots: {len(stale)} hospitals and the city in {time.perf_counter() - started:.0f} s")


def session_cookie(username: str) -> str:
    """A signed-in session for the user, as the login page would leave it."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from laihua.accounts.models import User

    user = User.objects.get(username=username)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def fetch(url: str, cookie: str | None) -> tuple[float, int]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    return (time.perf_counter() - started) * 1000, status


def measure(targets: list[tuple[str, str | None]], clients: int, per_client: int) -> dict:
    """Closed loop: each client sends its next request when the last one answered, taking targets in turn."""
    latencies, errors, lock = [], [], threading.Lock()
    for url, cookie in targets[: 2 * clients]:  # warm the workers
        fetch(url, cookie)

    def client(number: int):
        mine, failed = [], []
        for n in range(per_client):
            url, cookie = targets[(number * per_client + n) % len(targets)]
            ms, status = fetch(url, cookie)
            mine.append(ms)
            if status != 200:
                failed.append((status, url))
        with lock:
            latencies.extend(mine)
            errors.extend(failed)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client, range(clients)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": errors,
        "p50": statistics.median(ordered),
        "p95": ordered[int(0.95 * (len(ordered) - 1))],
        "throughput": len(ordered) / elapsed,
    }


def main():
    args = parse_args()
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    ensure_database(url)
    env = server_environment(url)
    env["LAIHUA_MFA_REQUIRED_ROLES"] = "none"  # the clients hold signed-in sessions; no second step is measured
    env["LAIHUA_HTTPS_REDIRECT"] = "0"  # plain HTTP on the loopback, as behind a TLS-terminating proxy
    os.environ.update(env)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    set_up(args)
    build_rollups()
    build_snapshots()
    from laihua.cases.models import Case

    cases = Case.objects.filter(hospital__in=_bench_hospitals()).count()
    slugs = list(_bench_hospitals().order_by("slug").values_list("slug", flat=True))
    hospital_targets = [(f"/en/analytics/hospitals/{slug}/", session_cookie(f"{slug}-admin")) for slug in slugs]
    city_cookie = session_cookie(f"{SLUG_PREFIX}city")
    from django.db import connections

    connections.close_all()
    server, base = start_server(env, args.workers)
    results = {}
    try:
        pages = {
            "hospital": [(base + path, cookie) for path, cookie in hospital_targets],
            "city": [(f"{base}/en/analytics/city/", city_cookie)],
            "fairness": [(f"{base}/en/fairness/", None)],
        }
        for name, targets in pages.items():
            alone, status = fetch(*targets[0])
            if status != 200:
                print(f"{name:8}: GET {targets[0][0]} answered {status}")
                continue
            print(f"{name:8}: one request alone {alone:.0f} ms")
            result = measure(targets, args.clients, args.requests)
            results[name] = result
            print(
                f"{name:8}: {result['requests']} requests from {args.clients} clients, {len(result['errors'])} errors; "
                f"p50 {result['p50']:.0f} ms, p95 {result['p95']:.0f} ms, {result['throughput']:.1f} requests/s"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)

    def p95(name: str) -> str:
        return f"{results[name]['p95']:.0f} ms" if name in results else "n/a"

    if "fairness" not in results:
        print("fairness p95 n/a")
    print(
        f"analytics: hospital p95 {p95('hospital')}, city p95 {p95('city')}, fairness p95 {p95('fairness')} "
        f"at {cases} cases"
    )
    failed = any(result["errors"] for result in results.values()) or "hospital" not in results or "city" not in results
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
