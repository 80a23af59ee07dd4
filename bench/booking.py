"""Booking benchmark: concurrent bookings through the capacity API on PostgreSQL, measured through gunicorn.

    .venv/bin/python bench/booking.py [--clients 32] [--requests 60] [--workers 3] [--floor]

Creates (or reuses) the database in DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/laihua_bench_booking,
its own, so that it never mixes with bench/search.py's catalog),
migrates it, sets up one benchmark hospital (bench-booking) with 8 MRI scanners of 100 slots a day
(10 international places a day each), a coordinator with an API token and 64 accepted cases, clears
its earlier bookings, then sends POST /api/capacity/bookings from concurrent clients over the next 20
days, a quarter of them on one hot scanner and day so that the cap is fought over. A 201 or a 409
quota_full is an answer; anything else is an error. Afterwards it counts the international places
booked over any day's cap (and any counter that disagrees with the bookings): that must be 0.
The last line is `booking: <N> bookings/s, p95 <X> ms, overbooked <K>` where N counts answered
booking requests (booked or refused as full) per second.
Goals on a 2-core machine: over 200 bookings/s, p95 under 100 ms, overbooked 0.

--floor first measures, with the same clients, server and token, the two cheapest requests there are:
GET /healthz (no database, no sign-in) and GET /api/me (the token's user: one read, no transaction).
No booking can be answered faster than these; their rates are the ceiling this machine puts on it.
"""

import argparse
import datetime
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

from search import DEFAULT_URL as SEARCH_URL  # noqa: E402
from search import CpuMeter, ensure_database, server_environment, start_server  # noqa: E402

DEFAULT_URL = SEARCH_URL.rsplit("/", 1)[0] + "/laihua_bench_booking"

SLUG = "bench-booking"
SCANNERS = 8
CASES = 64
DAYS = 20


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--requests", type=int, default=60, help="booking requests per client (default 60)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument(
        "--floor", action="store_true", help="first measure GET /healthz and GET /api/me with the same clients"
    )
    parser.add_argument(
        "--jobs",
        action="store_true",
        help="as deployed on several machines: Redis (127.0.0.1:6379/11) as broker and cache, and one job worker",
    )
    return parser.parse_args()


def set_up() -> tuple[str, list[str], list[str], datetime.date]:
    """The benchmark hospital, fresh cases and no bookings; returns (token, case references, item codes, first day)."""
    from decimal import Decimal

    from django.db import transaction

    from laihua.accounts.models import Role, User
    from laihua.accounts.services import create_api_token
    from laihua.capacity.models import CapacityDay, IntlUsage, Resource, ServiceUsage
    from laihua.cases.models import Case
    from laihua.catalog.models import CatalogItem
    from laihua.hospitals.models import City, Hospital
    from laihua.kit import clock
    from laihua.patients.models import Patient

    with transaction.atomic():
        city = City.objects.get_or_create(slug="shanghai", defaults={"name": {"en": "Shanghai", "zh-hans": "上海"}})[0]
        hospital, _created = Hospital.objects.get_or_create(
            slug=SLUG,
            defaults={
                "name": {"en": "Booking Bench Hospital", "zh-hans": "预约测试医院"},
                "city": city,
                "address": {"en": "1 Bench Road", "zh-hans": "测试路1号"},
                "is_demo": True,
            },
        )
        # Earlier runs: their cases (and with them bookings, requests, timeline) and counters go.
        Case.objects.filter(hospital=hospital).delete()
        # Raw: the passports of earlier runs were encrypted with another run's LAIHUA_FIELD_KEYS.
        patients = Patient.objects.filter(user__username__startswith="bench-booking-patient-")
        patients._raw_delete(patients.db)
        User.objects.filter(username__startswith="bench-booking-patient-").delete()
        IntlUsage.objects.filter(resource__hospital=hospital).delete()
        CapacityDay.objects.filter(resource__hospital=hospital).delete()
        coordinator = User.objects.filter(username="bench-booking-coord").first()
        if coordinator is None:
            coordinator = User(username="bench-booking-coord", role=Role.COORDINATOR, hospital=hospital)
            coordinator.set_unusable_password()
            coordinator.save()
        token = create_api_token(coordinator, coordinator, f"bench {uuid.uuid4().hex[:8]}")[1]
        codes = []
        for n in range(SCANNERS):
            resource, _created = Resource.objects.update_or_create(
                hospital=hospital,
                code=f"mri-{n}",
                defaults={
                    "kind": "mri",
                    "unit": "slot",
                    "name": {"en": f"MRI {n}", "zh-hans": f"磁共振 {n}"},
                    "daily_capacity": 100,
                    "intl_share": Decimal("0.10"),
                    "active": True,
                },
            )
            item, _created = CatalogItem.objects.get_or_create(
                hospital=hospital,
                code=f"MRI-{n}",
                defaults={"kind": "imaging", "name": {"en": f"MRI on scanner {n}", "zh-hans": f"磁共振 {n}"}},
            )
            ServiceUsage.objects.filter(item=item).delete()
            ServiceUsage.objects.create(item=item, resource=resource, units=1)
            codes.append(item.code)
        references = []
        for n in range(CASES):
            user = User(username=f"bench-booking-patient-{n}", role=Role.PATIENT, email=f"p{n}@bench.invalid")
            user.set_unusable_password()
            user.save()
            patient = Patient.objects.create(
                user=user,
                family_name="Bench",
                given_names=f"Patient {n}",
                sex="F",
                date_of_birth=datetime.date(1980, 1, 1),
                nationality="US",
                passport_number=f"X{n:07d}",
                email=user.email,
            )
            case = Case.objects.create(patient=patient, hospital=hospital, state="accepted")
            case.reference = f"LH-B-{case.pk:07d}"
            case.save(update_fields=["reference"])
            references.append(case.reference)
    return token, references, codes, clock.today() + datetime.timedelta(days=1)


def send(request: urllib.request.Request) -> tuple[float, int]:
    """(milliseconds, HTTP status; 0 when the connection failed)."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    except OSError:
        status = 0
    return (time.perf_counter() - started) * 1000, status


def post(base: str, token: str, body: dict) -> tuple[float, int]:
    return send(
        urllib.request.Request(
            f"{base}/api/capacity/bookings",
            data=json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": uuid.uuid4().hex,
            },
            method="POST",
        )
    )


def cpu_line(meter: CpuMeter, requests: int, client_seconds: float) -> str:
    """The CPU time per request of the gunicorn workers, PostgreSQL's backends and the client threads."""
    used = meter.seconds()
    return (
        f"CPU per request: django {used['django'] * 1000 / requests:.1f} ms, "
        f"postgres {used['postgres'] * 1000 / requests:.1f} ms, clients {client_seconds * 1000 / requests:.1f} ms"
    )


def hammer(url: str, token: str, args, meter: CpuMeter) -> str:
    """The clients sending GET url as fast as it is answered: the line that reports it."""
    timings, failed = [], []
    lock = threading.Lock()

    def client(_number: int):
        for _n in range(args.requests):
            ms, status = send(urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}))
            with lock:
                timings.append(ms)
                failed.extend([status] if status != 200 else [])

    started, client_before = time.perf_counter(), time.process_time()
    with meter, ThreadPoolExecutor(args.clients) as pool:
        list(pool.map(client, range(args.clients)))
    elapsed = time.perf_counter() - started
    ordered = sorted(timings)
    return (
        f"{len(timings) / elapsed:.0f} requests/s, p50 {statistics.median(ordered):.1f} ms, "
        f"p95 {ordered[int(len(ordered) * 0.95) - 1]:.1f} ms, {len(failed)} not 200; "
        + cpu_line(meter, len(timings), time.process_time() - client_before)
    )


def floor(base: str, token: str, args, meter) -> None:
    """The same clients sending the cheapest requests: what the server answers before any booking work."""
    for path in ("/healthz", "/api/me"):
        print(f"floor GET {path}: {hammer(base + path, token, args, meter())}")


def run(base: str, token: str, references: list[str], codes: list[str], first: datetime.date, args, meter) -> dict:
    timings, statuses = [], []
    lock = threading.Lock()

    def client(number: int):
        rng = random.Random(number)
        for _n in range(args.requests):
            if rng.random() < 0.25:
                code, day = codes[0], first  # the hot scanner and day
            else:
                code, day = rng.choice(codes), first + datetime.timedelta(days=rng.randrange(DAYS))
            body = {"case": rng.choice(references), "item": code, "day": day.isoformat()}
            ms, status = post(base, token, body)
            with lock:
                timings.append(ms)
                statuses.append(status)

    started, client_before = time.perf_counter(), time.process_time()
    with meter, ThreadPoolExecutor(args.clients) as pool:
        list(pool.map(client, range(args.clients)))
    elapsed = time.perf_counter() - started
    ordered = sorted(timings)
    return {
        "cpu": cpu_line(meter, len(timings), time.process_time() - client_before),
        "requests": len(timings),
        "booked": statuses.count(201),
        "full": statuses.count(409),
        "errors": len([s for s in statuses if s not in (201, 409)]),
        "other": sorted({s for s in statuses if s not in (201, 409)}),
        "p50": statistics.median(ordered),
        "p95": ordered[int(len(ordered) * 0.95) - 1],
        "throughput": len(timings) / elapsed,
    }


def overbooked() -> int:
    """Places booked over any day's cap, plus any counter that disagrees with the bookings."""
    from django.db.models import Sum

    from laihua.capacity import services
    from laihua.capacity.models import Booking, IntlUsage, Resource

    over = 0
    resources = list(Resource.objects.filter(hospital__slug=SLUG))
    for resource in resources:
        rows = Booking.objects.filter(resource=resource, status="booked").values("day").annotate(units=Sum("units"))
        days = [row["day"] for row in rows]
        if not days:
            continue
        caps = services.Capacities([resource], min(days), max(days))
        counters = dict(IntlUsage.objects.filter(resource=resource, period="day").values_list("day", "booked_units"))
        for row in rows:
            over += max(0, row["units"] - caps.day_cap(resource.pk, row["day"]))
            over += abs(counters.get(row["day"], 0) - row["units"])
    return over


def main():
    args = parse_args()
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    ensure_database(url)
    env = server_environment(url)
    if args.jobs:
        env["LAIHUA_BROKER_URL"] = env["LAIHUA_CACHE_URL"] = "redis://127.0.0.1:6379/11"
    for key in (
        "DATABASE_URL",
        "DJANGO_SETTINGS_MODULE",
        "LAIHUA_SECRET_KEY",
        "LAIHUA_FIELD_KEYS",
        "LAIHUA_DEMO",
        "LAIHUA_DEBUG",
        "LAIHUA_LOG_LEVEL",
        "LAIHUA_VAR_DIR",
    ):
        os.environ[key] = env[key]
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    token, references, codes, first = set_up()
    from django.db import connections

    connections.close_all()
    server, base = start_server(env, args.workers)
    worker = None
    if args.jobs:
        command = [sys.executable, "-m", "laihua.manage", "jobs", "worker", "--concurrency", "1"]
        worker = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        database = env["DATABASE_URL"].rsplit("/", 1)[1].split("?")[0]

        def meter():
            return CpuMeter(server.pid, database)

        if args.floor:
            floor(base, token, args, meter)
        result = run(base, token, references, codes, first, args, meter())
    finally:
        server.terminate()
        server.wait(timeout=30)
        if worker is not None:
            time.sleep(2)  # the last recounts
            worker.terminate()
            worker.wait(timeout=30)
    over = overbooked()
    print(
        f"{result['requests']} requests from {args.clients} clients: {result['booked']} booked, "
        f"{result['full']} quota full, {result['errors']} errors {result['other'] or ''}; "
        f"p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms; {result['cpu']}"
    )
    print(f"booking: {result['throughput']:.0f} bookings/s, p95 {result['p95']:.1f} ms, overbooked {over}")
    sys.exit(1 if result["errors"] or over else 0)


if __name__ == "__main__":
    main()
