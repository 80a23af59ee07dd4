"""Search benchmark: 50 hospitals × 2,000 catalog items in PostgreSQL, measured through gunicorn.

    .venv/bin/python bench/search.py [--clients 2] [--requests 300] [--workers 3] [--reload]
                                     [--only api|page] [--api-limit N] [--hospitals 50]

Creates (or reuses) the database in DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/laihua_bench),
migrates it, loads the benchmark catalog once, starts gunicorn on a free loopback port, and sends a
mix of searches (MRI, 核磁, a city filter, a price filter, ...) from concurrent clients to the search
API and to the public search page. Prints p50, p95 and throughput for each; the last line is
`search: api p95 <X> ms, page p95 <Y> ms`. Goals: API p95 under 50 ms, page p95 under 150 ms.
Two clients by default, one per core of the 2-core machine the goals are set for: with more, the
p95 measures the queue in front of the cores (docs/benchmarks.md gives 4 and 8 clients too).
"""

import argparse
import base64
import datetime
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/laihua_bench"
HOSPITALS = 50
ITEMS_PER_HOSPITAL = 2000
SLUG_PREFIX = "bench-"

CITIES = [
    ("shanghai", "Shanghai", "上海"),
    ("beijing", "Beijing", "北京"),
    ("guangzhou", "Guangzhou", "广州"),
    ("shenzhen", "Shenzhen", "深圳"),
    ("hangzhou", "Hangzhou", "杭州"),
    ("chengdu", "Chengdu", "成都"),
    ("wuhan", "Wuhan", "武汉"),
    ("xian", "Xi'an", "西安"),
    ("nanjing", "Nanjing", "南京"),
    ("haikou", "Haikou", "海口"),
]

DEPARTMENTS = [
    ("radiology", "Radiology", "放射科"),
    ("laboratory", "Laboratory Medicine", "检验科"),
    ("internal-medicine", "Internal Medicine", "内科"),
    ("orthopaedics", "Orthopaedics", "骨科"),
    ("gastroenterology", "Gastroenterology", "消化内科"),
    ("cardiology", "Cardiology", "心内科"),
    ("ophthalmology", "Ophthalmology", "眼科"),
    ("dentistry", "Dentistry", "口腔科"),
    ("health-check", "Health Check-up Centre", "健康体检中心"),
    ("rehabilitation", "Rehabilitation", "康复医学科"),
]

# (kind, department, English, Chinese, keywords, price in CNY): one base service each.
BASE_SERVICES = [
    ("imaging", "radiology", "MRI scan", "磁共振成像", "MRI MR 核磁 核磁共振 磁共振", 700),
    ("imaging", "radiology", "CT scan", "CT检查", "CT CAT 计算机断层", 500),
    ("imaging", "radiology", "Ultrasound", "超声检查", "ultrasound B超 彩超 超声", 250),
    ("imaging", "radiology", "X-ray", "X线摄影", "X-ray xray 拍片 X光", 120),
    ("imaging", "radiology", "PET-CT", "PET-CT检查", "PET 正电子", 8500),
    ("laboratory", "laboratory", "Blood test", "血液检查", "blood 血常规 化验", 80),
    ("laboratory", "laboratory", "Urine test", "尿液检查", "urine 尿常规 化验", 40),
    ("laboratory", "laboratory", "Hormone panel", "激素检测", "hormone 激素 化验", 300),
    ("laboratory", "laboratory", "Tumour marker", "肿瘤标志物", "tumor cancer 肿瘤 化验", 200),
    ("consultation", "internal-medicine", "Consultation", "门诊诊疗", "doctor 门诊 看病", 400),
    ("consultation", "orthopaedics", "Orthopaedic consultation", "骨科门诊", "orthopaedic 骨科", 450),
    ("consultation", "cardiology", "Cardiology consultation", "心内科门诊", "heart 心脏 心内科", 450),
    ("procedure", "gastroenterology", "Gastroscopy", "胃镜检查", "endoscopy 胃镜 内镜", 900),
    ("procedure", "gastroenterology", "Colonoscopy", "结肠镜检查", "endoscopy 肠镜 内镜", 1400),
    ("procedure", "orthopaedics", "Joint replacement", "关节置换术", "arthroplasty 关节置换", 40000),
    ("procedure", "orthopaedics", "Arthroscopy", "关节镜手术", "arthroscopy 关节镜", 12000),
    ("procedure", "cardiology", "Echocardiogram", "心脏超声", "echo 心超 超声", 400),
    ("procedure", "cardiology", "ECG", "心电图", "ECG EKG 心电图", 60),
    ("procedure", "ophthalmology", "Cataract surgery", "白内障手术", "cataract eye 白内障 眼科", 9000),
    ("procedure", "ophthalmology", "Eye examination", "眼科检查", "eye 眼科 视力", 200),
    ("procedure", "dentistry", "Dental implant", "种植牙", "dental tooth 牙 种植", 12000),
    ("procedure", "dentistry", "Dental cleaning", "洗牙", "dental tooth 牙 洁治", 300),
    ("procedure", "rehabilitation", "Physiotherapy", "康复理疗", "physio rehab 康复 理疗", 300),
    ("inpatient_day", "internal-medicine", "Inpatient day", "住院日", "ward bed 住院 病房", 1500),
    ("package", "health-check", "Health check-up", "健康体检", "checkup 体检 健康", 3000),
]

REGIONS = [
    ("head", "头部"),
    ("neck", "颈部"),
    ("chest", "胸部"),
    ("abdomen", "腹部"),
    ("pelvis", "盆腔"),
    ("cervical spine", "颈椎"),
    ("thoracic spine", "胸椎"),
    ("lumbar spine", "腰椎"),
    ("left knee", "左膝"),
    ("right knee", "右膝"),
    ("left hip", "左髋"),
    ("right hip", "右髋"),
    ("left shoulder", "左肩"),
    ("right shoulder", "右肩"),
    ("heart", "心脏"),
    ("liver", "肝脏"),
    ("kidneys", "肾脏"),
    ("thyroid", "甲状腺"),
    ("breast", "乳腺"),
    ("prostate", "前列腺"),
]
OPTIONS = [
    ("standard", "常规"),
    ("with contrast", "增强"),
    ("urgent", "加急"),
    ("weekend", "周末"),
]

# The query mix: (label, parameters). Price bounds are in the request's currency (USD).
QUERIES = [
    ("MRI", {"q": "MRI"}),
    ("核磁", {"q": "核磁"}),
    ("MRI knee", {"q": "mri knee"}),
    ("MRI in Chengdu", {"q": "MRI", "city": "chengdu"}),
    ("CT under 100 USD", {"q": "CT", "price_max": "100"}),
    ("ultrasound 超声", {"q": "超声"}),
    ("Chengdu, all", {"city": "chengdu"}),
    ("imaging 50-200 USD", {"kind": "imaging", "price_min": "50", "price_max": "200"}),
    ("colonoscopy", {"q": "colonoscopy"}),
    ("dental, most expensive", {"q": "dental", "sort": "-price"}),
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=2, help="concurrent clients (default 2)")
    parser.add_argument("--requests", type=int, default=300, help="requests per client and target (default 300)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument("--reload", action="store_true", help="delete and reload the benchmark catalog")
    parser.add_argument("--only", choices=("api", "page"), help="measure one target only")
    parser.add_argument("--api-limit", type=int, help="results per API request (default: the API's own, 20)")
    parser.add_argument(
        "--hospitals",
        type=int,
        default=HOSPITALS,
        help=f"hospitals of {ITEMS_PER_HOSPITAL} items each (default {HOSPITALS}; 250 for 500,000 items); "
        "a catalog of another size is reloaded",
    )
    return parser.parse_args()


def ensure_database(url: str) -> None:
    """Create the database named in the URL if the server lacks it."""
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    if "postgresql" not in config["ENGINE"]:
        sys.exit("bench/search.py measures PostgreSQL: set DATABASE_URL to a postgresql:// address")
    admin = psycopg.connect(
        dbname="postgres",
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        autocommit=True,
    )
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{config["NAME"]}"')
            print(f"created database {config['NAME']}")


def server_environment(url: str) -> dict:
    (ROOT / "var" / "bench" / "static").mkdir(parents=True, exist_ok=True)  # whitenoise looks there
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "laihua.settings",
            "LAIHUA_SECRET_KEY": env.get("LAIHUA_SECRET_KEY") or secrets.token_urlsafe(48),
            # Production settings refuse to start without a key for encrypted fields; none is read here.
            "LAIHUA_FIELD_KEYS": env.get("LAIHUA_FIELD_KEYS") or base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "LAIHUA_DEMO": "0",
            "LAIHUA_DEBUG": "0",
            "LAIHUA_LOG_LEVEL": "WARNING",
            "LAIHUA_VAR_DIR": str(ROOT / "var" / "bench"),
            # The clients speak plain http on the loopback, as behind a TLS-terminating proxy that redirects.
            "LAIHUA_HTTPS_REDIRECT": "0",
        }
    )
    return env


def catalog_rows(hospital_index: int):
    """2,000 (code, kind, department, en, zh, keywords, price) for one hospital, deterministic per hospital."""
    rng = random.Random(hospital_index)
    rows = []
    n = 0
    for base_index, (kind, department, en, zh, keywords, price) in enumerate(BASE_SERVICES):
        for region_index, (region_en, region_zh) in enumerate(REGIONS):
            for option_en, option_zh in OPTIONS:
                n += 1
                code = f"S{base_index:02d}-{region_index:02d}-{option_en[:3].upper()}-{n:04d}"
                factor = Decimal(rng.randint(60, 180)) / 100
                rows.append(
                    (
                        code,
                        kind,
                        department,
                        f"{en}, {region_en}, {option_en}",
                        f"{zh}（{region_zh}，{option_zh}）",
                        keywords,
                        (price * factor).quantize(Decimal(1)),
                    )
                )
                if len(rows) == ITEMS_PER_HOSPITAL:
                    return rows
    return rows


def copy_rows(model, objects) -> None:
    """Write model instances (their primary keys included) with PostgreSQL's COPY, each field's value as
    the ORM would save it."""
    from django.db import connection

    fields = model._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for obj in objects:
            copy.write_row(
                [field.get_db_prep_save(field.pre_save(obj, True), connection=connection) for field in fields]
            )


def next_ids(model, count: int) -> list[int]:
    """`count` primary keys from the model's sequence, as inserts would take them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def price_rows(pk: int, kind: str, price: Decimal) -> list[tuple[datetime.date, Decimal, Decimal]]:
    """An item's price history: (effective from, amount from, amount to)."""
    old, current, future = datetime.date(2025, 1, 1), datetime.date(2026, 1, 1), datetime.date(2099, 1, 1)
    ranged = kind == "procedure" and pk % 4 == 0
    rows = [(old, price * Decimal("0.9"), price * (Decimal("1.3") if ranged else Decimal("0.9")))]
    if pk % 5 < 2:
        rows.append((current, price, price * (Decimal("1.4") if ranged else 1)))
    if pk % 10 == 0:
        rows.append((future, price * 2, price * 2))
    return rows


def in_force(rows, day: datetime.date) -> dict:
    """The item's copy of its price in force on the day (catalog.pricing's columns), from its history."""
    started = [row for row in rows if row[0] <= day]
    following = [row[0] for row in rows if row[0] > day]
    effective_from, amount_min, amount_max = max(started)
    return {
        "current_price_min": amount_min,
        "current_price_max": amount_max,
        "current_price_from": effective_from,
        "current_price_until": min(following) - datetime.timedelta(days=1) if following else None,
    }


def load_catalog(reload: bool) -> None:
    from django.db import connection, transaction

    from laihua.catalog.models import CatalogItem, Price
    from laihua.catalog.pricing import copied_price
    from laihua.hospitals.models import City, Department, Hospital
    from laihua.kit import clock

    bench = Hospital.objects.filter(slug__startswith=SLUG_PREFIX)
    expected = HOSPITALS * ITEMS_PER_HOSPITAL
    bench_items = CatalogItem.objects.filter(hospital__in=bench)
    if not reload and bench_items.count() == expected:
        print(f"reusing the loaded benchmark catalog ({expected} items)")
        if bench_items.filter(current_price_min__isnull=True).exists():
            # Every benchmark item has a price in force: loaded by a version that left the copies empty.
            bench_items.update(**copied_price(clock.today()))
        return
    started = time.perf_counter()
    with transaction.atomic():
        # The benchmark's items have nothing but prices pointing at them: delete both without the ORM's
        # collector, which would read every row first.
        prices = Price.objects.filter(item__hospital__in=bench)
        prices._raw_delete(prices.db)
        bench_items._raw_delete(bench_items.db)
        bench.delete()
        cities = [
            City.objects.get_or_create(slug=slug, defaults={"name": {"en": en, "zh-hans": zh}})[0]
            for slug, en, zh in CITIES
        ]
        hospitals = []
        for index in range(HOSPITALS):
            city = cities[index % len(CITIES)]
            hospital = Hospital.objects.create(
                slug=f"{SLUG_PREFIX}{index + 1:02d}",
                city=city,
                is_demo=True,
                name={
                    "en": f"Benchmark Hospital {index + 1} ({city.name['en']})",
                    "zh-hans": f"基准测试医院{index + 1}（{city.name['zh-hans']}）",
                },
                address={"en": f"{index + 1} Benchmark Road", "zh-hans": f"基准路{index + 1}号"},
                accreditations=["JCI"] if index % 3 == 0 else [],
                languages=["en", "zh"],
            )
            departments = Department.objects.bulk_create(
                [
                    Department(hospital=hospital, code=code, name={"en": en, "zh-hans": zh})
                    for code, en, zh in DEPARTMENTS
                ]
            )
            hospitals.append((index, hospital, {department.code: department for department in departments}))

        today = clock.today()
        histories = {}

        item_ids = iter(next_ids(CatalogItem, HOSPITALS * ITEMS_PER_HOSPITAL))  # before COPY holds the connection

        def items():
            for index, hospital, departments in hospitals:
                # The rows first: zip stops at their end without taking another id.
                for (code, kind, department, en, zh, keywords, price), pk in zip(
                    catalog_rows(index), item_ids, strict=False
                ):
                    histories[pk] = price_rows(pk, kind, price)
                    item = CatalogItem(
                        pk=pk,
                        hospital=hospital,
                        department=departments[department],
                        kind=kind,
                        code=code,
                        name={"en": en, "zh-hans": zh},
                        description={
                            "en": f"{en} at {hospital.name['en']}.",
                            "zh-hans": f"{zh}，{hospital.name['zh-hans']}。",
                        },
                        keywords=keywords,
                        waiting_days=index % 5,
                        # Written with the row, instead of by refresh_current_prices afterwards (which
                        # would write every row twice); checked against it below.
                        **in_force(histories[pk], today),
                    )
                    item.search_text = item.build_search_text()
                    item.city_id = hospital.city_id
                    yield item

        copy_rows(CatalogItem, items())
        price_ids = iter(next_ids(Price, sum(len(rows) for rows in histories.values())))
        copy_rows(
            Price,
            (
                Price(pk=next(price_ids), item_id=pk, effective_from=day, amount_min=low, amount_max=high)
                for pk, rows in histories.items()
                for day, low, high in rows
            ),
        )
        # The copies must be what catalog.pricing writes: compare a sample with its own computation.
        sample = random.Random(0).sample(sorted(histories), min(500, len(histories)))
        expected = copied_price(today)
        checked = bench_items.filter(pk__in=sample).annotate(**{f"expected_{k}": v for k, v in expected.items()})
        for item in checked:
            for column in expected:
                if getattr(item, column) != getattr(item, f"expected_{column}"):
                    sys.exit(f"item {item.pk}: {column} {getattr(item, column)} is not the price in force")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"loaded {HOSPITALS} hospitals × {ITEMS_PER_HOSPITAL} items in {time.perf_counter() - started:.0f} s")


def ensure_usd_rate() -> None:
    """The shipped ECB rates go stale after a while; a stale rate is refused, so the benchmark adds its own."""
    from laihua.kit import clock
    from laihua.rates import services as rates
    from laihua.rates.models import ExchangeRate

    try:
        rates.rate_for("USD")
    except rates.RateUnavailable:
        ExchangeRate.objects.update_or_create(
            currency="USD",
            rate_date=clock.today(),
            defaults={"cny_per_unit": Decimal("7.1"), "source": "Benchmark rate, not for quoting"},
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "laihua.wsgi:application",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn stopped with status {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return server, base
        except OSError:  # not listening yet, or still starting (URLError, reset, timeout)
            time.sleep(0.3)
    server.terminate()
    sys.exit("gunicorn did not answer /healthz within 60 s")


API_LIMIT: dict[str, int] = {}  # {"limit": n} when --api-limit is given


def url_for(base: str, target: str, params: dict) -> str:
    if target == "api":
        return f"{base}/api/catalog/search?{urlencode({**params, **API_LIMIT, 'currency': 'USD'})}"
    return f"{base}/en/prices/?{urlencode({**params, 'currency': 'USD'})}"


def fetch(url: str) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        body, status = error.read(), error.code
    return (time.perf_counter() - started) * 1000, status, body


def check_answers(base: str) -> None:
    """Every query answers 200, and the MRI searches find MRI services, before anything is timed."""
    import json

    for label, params in QUERIES:
        for target in ("api", "page"):
            _ms, status, body = fetch(url_for(base, target, params))
            if status != 200:
                sys.exit(f"{target} {label!r} answered {status}: {body[:300]!r}")
        if label in ("MRI", "核磁"):
            total = json.loads(fetch(url_for(base, "api", params))[2])["total"]
            if total < HOSPITALS:
                sys.exit(f"{label!r} found {total} items; expected MRI services at every hospital")


class CpuMeter:
    """CPU time used by the gunicorn workers and by the PostgreSQL backends of the benchmark database.

    Sampled from /proc four times a second, so that a backend that ends during the run (Django closes a
    connection after 60 s) still counts up to its last sample. Linux only; elsewhere it reports nothing.
    """

    def __init__(self, server_pid: int, database: str):
        self.server_pid, self.database = server_pid, database
        self.ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.kinds: dict[int, str | None] = {}
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _kind(self, pid: int, stat: str) -> str | None:
        if pid not in self.kinds:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.server_pid:
                self.kinds[pid] = "django"
            elif command.startswith("postgres: ") and f" {self.database} " in command:
                self.kinds[pid] = "postgres"
            elif not command.startswith("postgres"):  # a backend still starting is looked at again
                self.kinds[pid] = None
        return self.kinds.get(pid)

    def _sample(self) -> None:
        if not Path("/proc/self/stat").exists():
            return
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
                if self._kind(pid, stat):
                    fields = stat.rsplit(")", 1)[1].split()
                    self.last[pid] = (int(fields[11]) + int(fields[12])) / self.ticks  # utime + stime
            except (OSError, ValueError, IndexError):
                continue

    def _run(self) -> None:
        while not self.stop.wait(0.25):
            self._sample()

    def __enter__(self):
        self._sample()
        self.first = dict(self.last)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self._sample()

    def seconds(self) -> dict[str, float]:
        used = {"django": 0.0, "postgres": 0.0}
        for pid, seconds in self.last.items():
            used[self.kinds[pid]] += seconds - self.first.get(pid, 0.0)
        return used


def measure(base: str, target: str, clients: int, per_client: int, meter: CpuMeter) -> dict:
    latencies: list[float] = []
    errors = []
    lock = threading.Lock()

    def client(number: int):
        mine, failed = [], []
        for n in range(per_client):
            _label, params = QUERIES[(number + n) % len(QUERIES)]
            ms, status, _body = fetch(url_for(base, target, params))
            mine.append(ms)
            if status != 200:
                failed.append(status)
        with lock:
            latencies.extend(mine)
            errors.extend(failed)

    for _label, params in QUERIES:  # warm every worker's caches and connections
        for _ in range(3):
            fetch(url_for(base, target, params))
    client_before = time.process_time()
    started = time.perf_counter()
    with meter, ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client, range(clients)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    cpu = {name: seconds * 1000 / len(ordered) for name, seconds in meter.seconds().items()}
    cpu["clients"] = (time.process_time() - client_before) * 1000 / len(ordered)  # with the meter's sampling
    return {
        "requests": len(ordered),
        "errors": len(errors),
        "p50": statistics.median(ordered),
        "p95": ordered[int(0.95 * (len(ordered) - 1))],
        "p99": ordered[int(0.99 * (len(ordered) - 1))],
        "throughput": len(ordered) / elapsed,
        "cpu_ms": cpu,  # CPU time per request of the gunicorn workers and of PostgreSQL's backends
    }


def per_query(base: str, target: str, rounds: int = 15) -> list[tuple[str, float]]:
    """Median latency of each query alone (no concurrency), to see which query costs what."""
    return [
        (label, statistics.median(fetch(url_for(base, target, params))[0] for _ in range(rounds)))
        for label, params in QUERIES
    ]


def main():
    global HOSPITALS
    args = parse_args()
    if args.hospitals < 1:
        sys.exit("--hospitals must be at least 1")
    HOSPITALS = args.hospitals
    if args.api_limit:
        API_LIMIT["limit"] = args.api_limit
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    ensure_database(url)
    env = server_environment(url)
    os.environ.update(
        {
            key: env[key]
            for key in (
                "DATABASE_URL",
                "DJANGO_SETTINGS_MODULE",
                "LAIHUA_SECRET_KEY",
                "LAIHUA_FIELD_KEYS",
                "LAIHUA_DEMO",
                "LAIHUA_DEBUG",
                "LAIHUA_LOG_LEVEL",
                "LAIHUA_VAR_DIR",
            )
        }
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    load_catalog(args.reload)
    ensure_usd_rate()
    from django.db import connections

    connections.close_all()

    import dj_database_url

    server, base = start_server(env, args.workers)
    database = dj_database_url.parse(url)["NAME"]
    try:
        check_answers(base)
        results = {}
        for target in ("api", "page"):
            if args.only and target != args.only:
                continue
            for label, ms in per_query(base, target):
                print(f"  {target:4} {label:24} {ms:7.1f} ms alone")
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            results[target] = measure(base, target, args.clients, args.requests, CpuMeter(server.pid, database))
            r = results[target]
            print(
                f"{target:4}: {r['requests']} requests from {args.clients} clients, {r['errors']} errors; "
                f"p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, p99 {r['p99']:.1f} ms, "
                f"{r['throughput']:.0f} requests/s"
            )
            cpu = ", ".join(f"{name} {ms:.1f} ms" for name, ms in r["cpu_ms"].items())
            print(f"      CPU per request: {cpu}; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after")
    finally:
        server.terminate()
        server.wait(timeout=30)
    failed = sum(r["errors"] for r in results.values())
    api = f"{results['api']['p95']:.1f}" if "api" in results else "-"
    page = f"{results['page']['p95']:.1f}" if "page" in results else "-"
    print(f"search: api p95 {api} ms, page p95 {page} ms")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
