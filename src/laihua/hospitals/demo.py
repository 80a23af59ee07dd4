"""Demo data: three fictional hospitals in Shanghai and Beijing, their catalogs, one user per role.

Everything here is invented and labelled as demo (`is_demo`, "Demo"/"示范" in every name) except the
reference prices abroad, which come from the shipped, sourced data (catalog.reference_data).
Loading twice is harmless: rows are found by slug, code or username and brought back to this
description; prices are added only when missing, so the price history is never rewritten.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import password_validation
from django.db import transaction
from django.utils.translation import gettext as _

from laihua.accounts.models import Role, User
from laihua.audit.services import record_event
from laihua.catalog import reference_data
from laihua.catalog.models import CatalogItem, ComparableService, Kind, PackageComponent, Price
from laihua.errors import Conflict
from laihua.hospitals.models import City, Department, Hospital
from laihua.kit import clock
from laihua.rates import services as rates
from laihua.rates.models import ExchangeRate

DEMO_PASSWORD = "laihua-demo-2026"
OLD_PRICES_FROM = datetime.date(2025, 1, 1)
CURRENT_PRICES_FROM = datetime.date(2026, 1, 1)
DEMO_RATE_SOURCE = "Demo rate for trying Laihua, not for quoting"


def T(en: str, zh: str) -> dict:
    return {"en": en, "zh-hans": zh}


CITIES = {"shanghai": T("Shanghai", "上海"), "beijing": T("Beijing", "北京")}

DEPARTMENTS = {
    "internal-medicine": T("Internal Medicine", "内科"),
    "radiology": T("Radiology", "放射科"),
    "nuclear-medicine": T("Nuclear Medicine", "核医学科"),
    "laboratory": T("Laboratory Medicine", "检验科"),
    "gastroenterology": T("Gastroenterology and Endoscopy", "消化内科（内镜中心）"),
    "orthopaedics": T("Orthopaedics", "骨科"),
    "rehabilitation": T("Rehabilitation Medicine", "康复医学科"),
    "international-ward": T("International Ward", "国际病区"),
    "health-check": T("Health Check-up Centre", "健康体检中心"),
}

HOURS = T(
    "Mon–Fri 8:00–17:30, Sat 8:00–12:00; emergencies 24 hours",
    "周一至周五 8:00–17:30，周六 8:00–12:00；急诊24小时",
)


@dataclass(frozen=True)
class DemoHospital:
    key: str  # short name: usernames and price columns
    slug: str
    prefix: str  # the hospital's own item codes start with it
    city: str
    name: dict
    address: dict
    description: dict
    accreditations: tuple[str, ...]
    languages: tuple[str, ...]
    intl_department: dict
    intl_phone: str
    extra_wait: int  # days added to every waiting time


HOSPITALS = (
    DemoHospital(
        key="huangpu",
        slug="huangpu-international-demo",
        prefix="HIDH",
        city="shanghai",
        name=T("Huangpu International Demo Hospital", "黄浦国际示范医院"),
        address=T("100 Demo Road, Huangpu District, Shanghai", "上海市黄浦区示范路100号"),
        description=T(
            "A fictional hospital for the Laihua demo. A large general hospital in central Shanghai whose "
            "International Medical Centre serves patients in five languages, with a dedicated ward.",
            "Laihua演示用的虚构医院。位于上海市中心的大型综合医院，国际医疗中心以五种语言接待患者，设有专属病区。",
        ),
        accreditations=("JCI",),
        languages=("en", "zh", "ja", "fr", "ru"),
        intl_department=T("International Medical Centre", "国际医疗中心"),
        intl_phone="+86 21 0000 0101",
        extra_wait=0,
    ),
    DemoHospital(
        key="pudong",
        slug="pudong-demo-medical-center",
        prefix="PDMC",
        city="shanghai",
        name=T("Pudong Demo Medical Center", "浦东示范医疗中心"),
        address=T("8 Example Avenue, Pudong New Area, Shanghai", "上海市浦东新区样例大道8号"),
        description=T(
            "A fictional hospital for the Laihua demo. A district medical center with short waits and "
            "moderate prices; its international clinic opened in 2024.",
            "Laihua演示用的虚构医院。区级医疗中心，候诊时间短、价格适中，国际门诊于2024年开设。",
        ),
        accreditations=(),
        languages=("en", "zh", "ko"),
        intl_department=T("International Clinic", "国际门诊"),
        intl_phone="+86 21 0000 0202",
        extra_wait=2,
    ),
    DemoHospital(
        key="chaoyang",
        slug="chaoyang-demo-hospital",
        prefix="CYDH",
        city="beijing",
        name=T("Chaoyang Demo Hospital", "朝阳示范医院"),
        address=T("25 Sample Street, Chaoyang District, Beijing", "北京市朝阳区样本街25号"),
        description=T(
            "A fictional hospital for the Laihua demo. A teaching hospital in Beijing's embassy district, "
            "with interpreters for Russian, Arabic, Kazakh and Mongolian.",
            "Laihua演示用的虚构医院。位于北京使馆区的教学医院，提供俄语、阿拉伯语、哈萨克语和蒙古语翻译。",
        ),
        accreditations=("JCI",),
        languages=("en", "zh", "ru", "ar", "kk", "mn"),
        intl_department=T("Department of International Medical Services", "国际医疗服务部"),
        intl_phone="+86 10 0000 0303",
        extra_wait=1,
    ),
)


@dataclass(frozen=True)
class DemoService:
    code: str
    kind: str
    department: str
    name: dict
    description: dict
    included: dict
    excluded: dict
    keywords: str
    comparable: str | None
    prices: dict  # hospital key -> price in CNY, or (from, to); a hospital without a price does not offer it
    waiting_days: int = 0
    duration_minutes: int | None = None
    stay_days: int | None = None
    standard_codes: tuple[tuple[str, str], ...] = ()
    components: tuple[tuple[str, int], ...] = ()
    new_in_2026: bool = False  # no older price: the service was added this year


def P(huangpu=None, pudong=None, chaoyang=None) -> dict:
    return {
        key: value
        for key, value in (("huangpu", huangpu), ("pudong", pudong), ("chaoyang", chaoyang))
        if value is not None
    }


NO_EXTRAS = T("", "")
REPORT = T("Report by a specialist, in English and Chinese.", "专科医生出具的中英文报告。")
INTERPRETER = T("Interpreter at the appointment.", "就诊时的翻译服务。")

SERVICES = (
    DemoService(
        "CON-GP",
        Kind.CONSULTATION,
        "internal-medicine",
        T("General consultation, international clinic", "国际门诊全科诊疗"),
        T(
            "A consultation with an internist who speaks English: history, examination and a plan.",
            "由会说英语的内科医生接诊：问诊、体格检查并制定诊疗方案。",
        ),
        T(
            "Consultation of up to 30 minutes; interpreter for other languages.",
            "不超过30分钟的诊疗；其他语言的翻译服务。",
        ),
        T("Tests, imaging and medicines.", "检查、影像及药品费用。"),
        "GP doctor consultation 门诊 看病 全科 internist",
        "consultation-general",
        P(800, 300, 500),
        duration_minutes=30,
    ),
    DemoService(
        "CON-SENIOR",
        Kind.CONSULTATION,
        "internal-medicine",
        T("Senior specialist consultation", "特需专家门诊"),
        T(
            "A consultation with a chief or associate chief physician, booked ahead for international "
            "patients.",
            "由主任或副主任医师接诊，为国际患者提前预约。",
        ),
        T(
            "Consultation of up to 30 minutes; review of your earlier reports.",
            "不超过30分钟的诊疗；审阅既往检查报告。",
        ),
        T("Tests, imaging and medicines.", "检查、影像及药品费用。"),
        "specialist professor expert 专家 特需 主任医师",
        "consultation-senior",
        P(1500, 600, 1000),
        waiting_days=1,
        duration_minutes=30,
    ),
    DemoService(
        "CON-ORTH",
        Kind.CONSULTATION,
        "orthopaedics",
        T("Orthopaedic consultation", "骨科门诊"),
        T(
            "A consultation with an orthopaedic surgeon about joint, bone or spine problems.",
            "由骨科医生就关节、骨骼或脊柱问题进行诊疗。",
        ),
        INTERPRETER,
        T("Imaging, which is priced separately.", "影像检查，另行收费。"),
        "orthopaedic surgeon joint knee hip 骨科 关节",
        None,
        P(900, 350, 600),
        waiting_days=1,
        duration_minutes=20,
    ),
    DemoService(
        "CON-GI",
        Kind.CONSULTATION,
        "gastroenterology",
        T("Gastroenterology consultation", "消化内科门诊"),
        T(
            "A consultation about stomach, bowel or liver complaints, and whether an endoscopy is needed.",
            "就胃、肠或肝脏不适进行诊疗，并评估是否需要内镜检查。",
        ),
        INTERPRETER,
        T("Endoscopy and tests.", "内镜及化验检查。"),
        "gastroenterologist stomach bowel 消化 胃肠",
        None,
        P(900, 350, 600),
        waiting_days=1,
        duration_minutes=20,
    ),
    DemoService(
        "RAD-MRI-1",
        Kind.IMAGING,
        "radiology",
        T("MRI scan, one region, without contrast", "磁共振成像（MRI），单部位，平扫"),
        T(
            "Magnetic resonance imaging of one body region (e.g. head, spine, knee) on a 3 tesla scanner.",
            "在3T磁共振设备上对一个部位（如头部、脊柱、膝关节）进行成像。",
        ),
        REPORT,
        T("Contrast agent; additional regions.", "造影剂；其他部位。"),
        "MRI MR scan magnetic resonance 核磁 核磁共振 磁共振",
        "mri",
        P(880, 486, 650),
        waiting_days=2,
        duration_minutes=30,
    ),
    DemoService(
        "RAD-MRI-C",
        Kind.IMAGING,
        "radiology",
        T("MRI scan, one region, with contrast", "磁共振成像（MRI），单部位，增强"),
        T(
            "Magnetic resonance imaging of one region before and after a gadolinium contrast injection.",
            "注射钆造影剂前后对一个部位进行磁共振成像。",
        ),
        T(
            "Contrast agent; report by a specialist, in English and Chinese.",
            "造影剂；专科医生出具的中英文报告。",
        ),
        T("Additional regions; kidney function test if needed.", "其他部位；如需的肾功能检查。"),
        "MRI MR contrast enhanced gadolinium 核磁 磁共振 增强",
        None,
        P(1480, 880, 1150),
        waiting_days=3,
        duration_minutes=45,
    ),
    DemoService(
        "RAD-CT-ABD",
        Kind.IMAGING,
        "radiology",
        T("CT scan of the abdomen", "腹部CT检查"),
        T("Computed tomography of the abdomen without contrast.", "腹部计算机断层扫描（平扫）。"),
        REPORT,
        T("Contrast agent.", "造影剂。"),
        "CT CAT scan computed tomography abdomen 腹部 计算机断层",
        "ct-abdomen",
        P(1100, 520, 780),
        waiting_days=1,
        duration_minutes=15,
        standard_codes=(("CPT", "74150"),),
    ),
    DemoService(
        "RAD-CT-LD",
        Kind.IMAGING,
        "radiology",
        T("Low-dose chest CT", "胸部低剂量CT"),
        T(
            "Low-dose computed tomography of the lungs, used for lung cancer screening.",
            "肺部低剂量计算机断层扫描，用于肺癌筛查。",
        ),
        REPORT,
        NO_EXTRAS,
        "CT lung screening chest 肺 胸部CT 低剂量",
        "ct-chest-low-dose",
        P(650, 280, 450),
        waiting_days=1,
        duration_minutes=10,
        standard_codes=(("CPT", "71271"),),
    ),
    DemoService(
        "RAD-XR-CH",
        Kind.IMAGING,
        "radiology",
        T("Chest X-ray", "胸部X线摄影"),
        T("X-ray of the chest, two views.", "胸部X线摄影，正侧位两个体位。"),
        REPORT,
        NO_EXTRAS,
        "X-ray xray radiograph chest 胸片 X光",
        "x-ray-chest",
        P(260, 90, 150),
        duration_minutes=10,
        standard_codes=(("CPT", "71046"),),
    ),
    DemoService(
        "RAD-US-ABD",
        Kind.IMAGING,
        "radiology",
        T("Abdominal ultrasound", "腹部超声检查"),
        T(
            "Ultrasound of the liver, gallbladder, pancreas, spleen and kidneys.",
            "肝、胆、胰、脾、肾的超声检查。",
        ),
        REPORT,
        NO_EXTRAS,
        "ultrasound sonography echo abdomen B超 彩超 超声",
        "ultrasound-abdomen",
        P(480, 200, 320),
        duration_minutes=20,
        standard_codes=(("CPT", "76700"),),
    ),
    DemoService(
        "RAD-US-THY",
        Kind.IMAGING,
        "radiology",
        T("Thyroid ultrasound", "甲状腺超声检查"),
        T("Ultrasound of the thyroid gland and the lymph nodes of the neck.", "甲状腺及颈部淋巴结超声检查。"),
        REPORT,
        T("Fine-needle biopsy.", "细针穿刺活检。"),
        "ultrasound thyroid neck 甲状腺 彩超 超声",
        None,
        P(380, 150, 260),
        duration_minutes=15,
        standard_codes=(("CPT", "76536"),),
    ),
    DemoService(
        "NM-PETCT",
        Kind.IMAGING,
        "nuclear-medicine",
        T("PET-CT, whole body", "全身PET-CT检查"),
        T(
            "Positron emission tomography with CT from skull base to mid-thigh, with an FDG tracer.",
            "使用FDG示踪剂，从颅底至大腿中部的正电子发射断层及CT联合成像。",
        ),
        T(
            "FDG tracer; report by a nuclear medicine specialist, in English and Chinese.",
            "FDG示踪剂；核医学专科医生出具的中英文报告。",
        ),
        T("Tracers other than FDG.", "FDG以外的示踪剂。"),
        "PET CT PET-CT cancer staging 正电子 全身检查",
        "pet-ct",
        P(9800, None, (7800, 9200)),
        waiting_days=3,
        duration_minutes=120,
        standard_codes=(("CPT", "78815"),),
        new_in_2026=True,
    ),
    DemoService(
        "LAB-CBC",
        Kind.LABORATORY,
        "laboratory",
        T("Complete blood count", "血常规"),
        T("Red and white blood cells, haemoglobin and platelets.", "红细胞、白细胞、血红蛋白和血小板。"),
        T("Blood draw; results the same day.", "采血；当天出结果。"),
        NO_EXTRAS,
        "CBC blood test full blood count 血常规 血液",
        "blood-count",
        P(120, 40, 80),
        duration_minutes=5,
        standard_codes=(("LOINC", "58410-2"),),
    ),
    DemoService(
        "LAB-CMP",
        Kind.LABORATORY,
        "laboratory",
        T("Comprehensive metabolic panel", "生化全套"),
        T("Liver and kidney function, glucose, electrolytes and proteins.", "肝肾功能、血糖、电解质及蛋白。"),
        T("Blood draw; results the same day.", "采血；当天出结果。"),
        NO_EXTRAS,
        "CMP liver kidney function blood chemistry 生化 肝功能 肾功能",
        "metabolic-panel",
        P(480, 220, 350),
        duration_minutes=5,
        standard_codes=(("LOINC", "24323-8"),),
    ),
    DemoService(
        "LAB-LIPID",
        Kind.LABORATORY,
        "laboratory",
        T("Lipid panel", "血脂四项"),
        T(
            "Total cholesterol, HDL, LDL and triglycerides.",
            "总胆固醇、高密度脂蛋白、低密度脂蛋白和甘油三酯。",
        ),
        T("Blood draw after fasting; results the same day.", "空腹采血；当天出结果。"),
        NO_EXTRAS,
        "cholesterol lipids 血脂 胆固醇",
        "lipid-panel",
        P(160, 60, 100),
        duration_minutes=5,
        standard_codes=(("LOINC", "57698-3"),),
    ),
    DemoService(
        "LAB-HBA1C",
        Kind.LABORATORY,
        "laboratory",
        T("Glycated haemoglobin (HbA1c)", "糖化血红蛋白（HbA1c）"),
        T(
            "Average blood sugar over the past three months, for diabetes.",
            "反映近三个月平均血糖水平，用于糖尿病评估。",
        ),
        T("Blood draw; results the same day.", "采血；当天出结果。"),
        NO_EXTRAS,
        "HbA1c diabetes sugar 糖化 糖尿病",
        None,
        P(150, 70, 110),
        duration_minutes=5,
        standard_codes=(("LOINC", "4548-4"),),
    ),
    DemoService(
        "LAB-THY",
        Kind.LABORATORY,
        "laboratory",
        T("Thyroid function panel", "甲状腺功能五项"),
        T("TSH, free T3 and T4, total T3 and T4.", "促甲状腺激素、游离T3和T4、总T3和T4。"),
        T("Blood draw; results the next day.", "采血；次日出结果。"),
        NO_EXTRAS,
        "thyroid TSH 甲功 甲状腺",
        None,
        P(320, 150, 240),
        duration_minutes=5,
    ),
    DemoService(
        "LAB-TUMOR",
        Kind.LABORATORY,
        "laboratory",
        T("Tumour marker panel", "肿瘤标志物组合"),
        T(
            "CEA, AFP, CA19-9, CA125 or PSA and others, chosen by age and sex.",
            "根据年龄和性别选择的CEA、AFP、CA19-9、CA125或PSA等。",
        ),
        T("Blood draw; results in two days.", "采血；两天出结果。"),
        T("Follow-up imaging for a raised marker.", "标志物升高后的进一步影像检查。"),
        "tumor tumour markers cancer screening 肿瘤标志物 癌症筛查",
        None,
        P((600, 900), 380, 520),
        duration_minutes=5,
    ),
    DemoService(
        "IM-ECG",
        Kind.PROCEDURE,
        "internal-medicine",
        T("Electrocardiogram, 12-lead", "十二导联心电图"),
        T("A resting recording of the heart's rhythm.", "静息状态下记录心脏节律。"),
        T("Reading by a cardiologist.", "心内科医生判读。"),
        NO_EXTRAS,
        "ECG EKG heart 心电图 心脏",
        "ecg",
        P(150, 50, 90),
        duration_minutes=10,
        standard_codes=(("CPT", "93000"),),
    ),
    DemoService(
        "GI-GASTRO",
        Kind.PROCEDURE,
        "gastroenterology",
        T("Gastroscopy", "胃镜检查"),
        T(
            "Examination of the oesophagus, stomach and duodenum with a flexible endoscope, under local "
            "throat anaesthesia.",
            "在咽部局部麻醉下，用软式内镜检查食管、胃和十二指肠。",
        ),
        T("Endoscopy and report; biopsies sent to pathology.", "内镜检查及报告；活检送病理。"),
        T("Pathology fees; sedation (see painless gastroscopy).", "病理费用；镇静麻醉（见无痛胃镜）。"),
        "gastroscopy endoscopy upper GI 胃镜 内镜",
        "gastroscopy",
        P(1500, 600, 980),
        waiting_days=3,
        duration_minutes=20,
        standard_codes=(("CPT", "43235"),),
    ),
    DemoService(
        "GI-GASTRO-S",
        Kind.PROCEDURE,
        "gastroenterology",
        T("Painless gastroscopy, under sedation", "无痛胃镜检查"),
        T(
            "Gastroscopy under intravenous sedation given by an anaesthetist.",
            "由麻醉医生实施静脉镇静下的胃镜检查。",
        ),
        T("Endoscopy, sedation, recovery and report.", "内镜检查、镇静麻醉、复苏及报告。"),
        T("Pathology fees.", "病理费用。"),
        "gastroscopy sedation painless 无痛胃镜 胃镜 麻醉",
        None,
        P(2600, 1200, 1800),
        waiting_days=4,
        duration_minutes=60,
    ),
    DemoService(
        "GI-COLO",
        Kind.PROCEDURE,
        "gastroenterology",
        T("Colonoscopy", "结肠镜检查"),
        T(
            "Examination of the large bowel with a flexible endoscope, with bowel preparation at home.",
            "居家肠道准备后，用软式内镜检查大肠。",
        ),
        T(
            "Endoscopy, bowel preparation kit and report; biopsies sent to pathology.",
            "内镜检查、肠道准备药物及报告；活检送病理。",
        ),
        T(
            "Pathology fees; polyp removal; sedation (see painless colonoscopy).",
            "病理费用；息肉切除；镇静麻醉（见无痛肠镜）。",
        ),
        "colonoscopy bowel endoscopy 肠镜 结肠镜",
        "colonoscopy",
        P(2200, 900, 1500),
        waiting_days=3,
        duration_minutes=40,
        standard_codes=(("CPT", "45378"),),
    ),
    DemoService(
        "GI-COLO-S",
        Kind.PROCEDURE,
        "gastroenterology",
        T("Painless colonoscopy, under sedation", "无痛肠镜检查"),
        T(
            "Colonoscopy under intravenous sedation given by an anaesthetist.",
            "由麻醉医生实施静脉镇静下的结肠镜检查。",
        ),
        T(
            "Endoscopy, sedation, recovery, bowel preparation kit and report.",
            "内镜检查、镇静麻醉、复苏、肠道准备药物及报告。",
        ),
        T("Pathology fees; polyp removal.", "病理费用；息肉切除。"),
        "colonoscopy sedation painless 无痛肠镜 肠镜 麻醉",
        None,
        P(3500, 1700, 2600),
        waiting_days=4,
        duration_minutes=90,
    ),
    DemoService(
        "ORTH-TKR",
        Kind.PROCEDURE,
        "orthopaedics",
        T("Total knee replacement, with hospital stay", "全膝关节置换术（含住院）"),
        T(
            "Replacement of a worn knee joint with an artificial one, and the stay until you can walk with "
            "crutches. The price range depends on the implant.",
            "以人工关节置换磨损的膝关节，并住院至可扶拐行走。价格区间取决于所选假体。",
        ),
        T(
            "Surgery, standard implant, anaesthesia, 7 inpatient days, medicines during the stay, first "
            "physiotherapy sessions.",
            "手术、标准假体、麻醉、7个住院日、住院期间药品、首次康复训练。",
        ),
        T(
            "Pre-operative tests; stays beyond 7 days; premium implants.",
            "术前检查；超过7天的住院；高端假体。",
        ),
        "knee replacement arthroplasty TKR TKA 膝关节置换 人工膝关节",
        "knee-replacement",
        P((52000, 60000), (30000, 42000), (38000, 50000)),
        waiting_days=14,
        stay_days=7,
        standard_codes=(("CPT", "27447"),),
    ),
    DemoService(
        "ORTH-THR",
        Kind.PROCEDURE,
        "orthopaedics",
        T("Total hip replacement surgery", "全髋关节置换手术"),
        T(
            "The operation alone: replacement of the hip joint by an orthopaedic surgeon.",
            "仅手术：由骨科医生实施髋关节置换。",
        ),
        T("Surgery and anaesthesia.", "手术及麻醉。"),
        T(
            "The implant; inpatient days; tests (see the hip replacement package).",
            "假体；住院日；检查（见髋关节置换套餐）。",
        ),
        "hip replacement arthroplasty THR THA 髋关节置换 人工髋关节",
        None,
        P((38000, 46000), (24000, 32000), (30000, 38000)),
        waiting_days=14,
        duration_minutes=150,
        standard_codes=(("CPT", "27130"),),
    ),
    DemoService(
        "ORTH-ARTHRO",
        Kind.PROCEDURE,
        "orthopaedics",
        T("Knee arthroscopy", "膝关节镜手术"),
        T(
            "Keyhole surgery of the knee, e.g. for a torn meniscus, as a day case.",
            "膝关节微创手术（如半月板撕裂），日间手术。",
        ),
        T("Surgery, anaesthesia and day-case stay.", "手术、麻醉及日间病房。"),
        T("MRI beforehand; physiotherapy.", "术前磁共振；康复治疗。"),
        "arthroscopy knee meniscus keyhole 关节镜 半月板",
        None,
        P(18000, 9000, 12000),
        waiting_days=7,
        duration_minutes=60,
        standard_codes=(("CPT", "29881"),),
    ),
    DemoService(
        "REHAB-PT",
        Kind.PROCEDURE,
        "rehabilitation",
        T("Physiotherapy session", "康复理疗（单次）"),
        T(
            "A session with a physiotherapist, e.g. after joint surgery.",
            "由康复治疗师进行的单次治疗，如关节术后康复。",
        ),
        T("45 minutes of one-to-one therapy.", "45分钟一对一治疗。"),
        NO_EXTRAS,
        "physiotherapy physical therapy rehab 康复 理疗",
        None,
        P(600, 200, 380),
        duration_minutes=45,
    ),
    DemoService(
        "WARD-DAY",
        Kind.INPATIENT_DAY,
        "international-ward",
        T("Inpatient day, single room", "住院日（单人间）"),
        T(
            "One day in a single room with its own bathroom on the international ward.",
            "国际病区带独立卫浴的单人间住院一天。",
        ),
        T("Room, meals, nursing care and a daily ward round.", "床位、膳食、护理及每日查房。"),
        T("Medicines, tests and procedures.", "药品、检查及治疗。"),
        "inpatient ward room bed hospital stay 住院 病房 单人间",
        "inpatient-day",
        P(2800, 900, 1600),
        stay_days=1,
    ),
    DemoService(
        "WARD-SUITE",
        Kind.INPATIENT_DAY,
        "international-ward",
        T("Inpatient day, suite with a companion bed", "住院日（套房，含陪护床）"),
        T(
            "One day in a suite with a sitting room and a bed for a companion.",
            "带起居室和陪护床的套房住院一天。",
        ),
        T("Suite, meals for two, nursing care and a daily ward round.", "套房、两人膳食、护理及每日查房。"),
        T("Medicines, tests and procedures.", "药品、检查及治疗。"),
        "inpatient suite VIP ward companion 住院 套房 陪护",
        None,
        P(6800, None, 4200),
        stay_days=1,
    ),
    DemoService(
        "PKG-CHECK",
        Kind.PACKAGE,
        "health-check",
        T("Full health check-up", "全面健康体检套餐"),
        T(
            "A half-day check-up with a doctor's summary in English and Chinese: blood tests, heart, "
            "abdomen and lungs.",
            "半天完成的体检，附中英文医生总结：血液检查、心脏、腹部和肺部。",
        ),
        T(
            "General consultation, blood count, metabolic and lipid panels, HbA1c, ECG, abdominal "
            "ultrasound, low-dose chest CT, breakfast.",
            "全科诊疗、血常规、生化全套、血脂、糖化血红蛋白、心电图、腹部超声、胸部低剂量CT、早餐。",
        ),
        T("Further tests a finding calls for.", "因检查发现而需要的进一步检查。"),
        "health check checkup medical examination screening 体检 健康检查",
        "health-checkup",
        P(4800, 1980, 3200),
        waiting_days=2,
        duration_minutes=240,
        components=(
            ("CON-GP", 1),
            ("LAB-CBC", 1),
            ("LAB-CMP", 1),
            ("LAB-LIPID", 1),
            ("LAB-HBA1C", 1),
            ("IM-ECG", 1),
            ("RAD-US-ABD", 1),
            ("RAD-CT-LD", 1),
        ),
    ),
    DemoService(
        "PKG-EXEC",
        Kind.PACKAGE,
        "health-check",
        T("Executive health check-up with MRI and endoscopy", "高端体检套餐（含磁共振及无痛胃肠镜）"),
        T(
            "A full day: the full check-up plus a brain MRI, tumour markers and painless gastroscopy and "
            "colonoscopy.",
            "全天体检：全面体检，另加头部磁共振、肿瘤标志物及无痛胃肠镜。",
        ),
        T(
            "Senior specialist consultation, blood count, metabolic and lipid panels, HbA1c, tumour markers, "
            "ECG, abdominal ultrasound, low-dose chest CT, MRI of the head, painless gastroscopy and "
            "colonoscopy, lunch.",
            "特需专家门诊、血常规、生化全套、血脂、糖化血红蛋白、肿瘤标志物、心电图、腹部超声、胸部低剂量CT、"
            "头部磁共振、无痛胃镜和肠镜、午餐。",
        ),
        T("Pathology fees; polyp removal.", "病理费用；息肉切除。"),
        "executive health check MRI endoscopy VIP 高端体检 核磁 胃肠镜",
        None,
        P(12800, None, 9800),
        waiting_days=5,
        duration_minutes=480,
        components=(
            ("CON-SENIOR", 1),
            ("LAB-CBC", 1),
            ("LAB-CMP", 1),
            ("LAB-LIPID", 1),
            ("LAB-HBA1C", 1),
            ("LAB-TUMOR", 1),
            ("IM-ECG", 1),
            ("RAD-US-ABD", 1),
            ("RAD-CT-LD", 1),
            ("RAD-MRI-1", 1),
            ("GI-GASTRO-S", 1),
            ("GI-COLO-S", 1),
        ),
    ),
    DemoService(
        "PKG-THR",
        Kind.PACKAGE,
        "orthopaedics",
        T("Hip replacement package, with 5 inpatient days", "髋关节置换套餐（含5个住院日）"),
        T(
            "Total hip replacement with everything from the surgeon's consultation to the first "
            "physiotherapy sessions. The price range depends on the implant.",
            "全髋关节置换，包含从骨科诊疗到首次康复训练的全部项目。价格区间取决于所选假体。",
        ),
        T(
            "Orthopaedic consultation, pre-operative blood tests and chest X-ray, surgery, standard implant, "
            "anaesthesia, 5 inpatient days in a single room, 3 physiotherapy sessions.",
            "骨科诊疗、术前血液检查及胸片、手术、标准假体、麻醉、5个单人间住院日、3次康复理疗。",
        ),
        T(
            "Stays beyond 5 days; premium implants; treatment of complications.",
            "超过5天的住院；高端假体；并发症治疗。",
        ),
        "hip replacement package arthroplasty THR 髋关节置换 套餐",
        "hip-replacement",
        P((52000, 60000), (33000, 42000), (40000, 50000)),
        waiting_days=14,
        stay_days=5,
        components=(
            ("CON-ORTH", 1),
            ("LAB-CBC", 2),
            ("RAD-XR-CH", 1),
            ("ORTH-THR", 1),
            ("WARD-DAY", 5),
            ("REHAB-PT", 3),
        ),
    ),
)

# Rates for currencies the ECB does not publish, dated a few days back. AED and SAR follow their fixed
# US dollar pegs from the ECB dollar rate; the others are round figures, labelled as demo rates.
USD_PEGS = {"AED": Decimal("3.6725"), "SAR": Decimal("3.75")}
DEMO_RATES = {"KZT": Decimal("0.0137"), "MNT": Decimal("0.00205"), "RUB": Decimal("0.088")}
DEMO_RATE_AGE_DAYS = 3


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    hospital: str | None  # hospital key
    first_name: str
    last_name: str


STAFF_ROLES = (
    ("admin", Role.HOSPITAL_ADMIN, "Admin"),
    ("coord", Role.COORDINATOR, "Coordinator"),
    ("doctor", Role.CLINICIAN, "Doctor"),
    ("finance", Role.FINANCE, "Finance"),
)

USERS = (
    DemoUser("platform-admin", Role.PLATFORM_ADMIN, None, "Platform", "Admin"),
    DemoUser("insurer-agent", Role.INSURER_AGENT, None, "Insurer", "Agent"),
    DemoUser("demo-patient", Role.PATIENT, None, "Alex", "Patient"),
    *(
        DemoUser(f"{hospital.key}-{suffix}", role, hospital.key, hospital.key.title(), label)
        for hospital in HOSPITALS
        for suffix, role, label in STAFF_ROLES
    ),
)


@dataclass
class DemoSummary:
    hospitals: int = 0
    users_created: int = 0
    items: int = 0
    prices_created: int = 0
    rates_created: int = 0
    reference: reference_data.LoadSummary = field(default_factory=reference_data.LoadSummary)


def _hospital(spec: DemoHospital) -> Hospital:
    city = City.objects.get_or_create(slug=spec.city, defaults={"name": CITIES[spec.city]})[0]
    hospital, _created = Hospital.objects.update_or_create(
        slug=spec.slug,
        defaults={
            "name": spec.name,
            "city": city,
            "address": spec.address,
            "description": spec.description,
            "website": f"https://{spec.key}-demo.example/",
            "accreditations": list(spec.accreditations),
            "languages": list(spec.languages),
            "intl_department": spec.intl_department,
            "intl_phone": spec.intl_phone,
            "intl_email": f"international@{spec.key}-demo.example",
            "intl_hours": HOURS,
            "is_demo": True,
        },
    )
    offered = {service.department for service in SERVICES if spec.key in service.prices}
    for code in sorted(offered):
        Department.objects.update_or_create(
            hospital=hospital, code=code, defaults={"name": DEPARTMENTS[code]}
        )
    return hospital


def _price_steps(price) -> tuple[Decimal, Decimal]:
    low, high = price if isinstance(price, tuple) else (price, price)
    return Decimal(low), Decimal(high)


def _older(amount: Decimal) -> Decimal:
    """Last year's price: about 8% lower, rounded to 10 yuan (to 1 yuan below 100)."""
    step = Decimal(10) if amount >= 100 else Decimal(1)
    return (amount * Decimal("0.92") / step).quantize(Decimal(1)) * step


def _prices(item: CatalogItem, service: DemoService, price, summary: DemoSummary) -> None:
    low, high = _price_steps(price)
    history = [(CURRENT_PRICES_FROM, low, high)]
    if not service.new_in_2026:
        history.append((OLD_PRICES_FROM, _older(low), _older(high)))
    for start, amount_min, amount_max in history:
        _price, created = Price.objects.get_or_create(
            item=item, effective_from=start, defaults={"amount_min": amount_min, "amount_max": amount_max}
        )
        summary.prices_created += created


def _catalog(spec: DemoHospital, hospital: Hospital, summary: DemoSummary) -> None:
    departments = {department.code: department for department in hospital.departments.all()}
    comparables = {service.key: service for service in ComparableService.objects.all()}
    items: dict[str, CatalogItem] = {}
    for service in SERVICES:
        price = service.prices.get(spec.key)
        if price is None:
            continue
        item, _created = CatalogItem.objects.update_or_create(
            hospital=hospital,
            code=f"{spec.prefix}-{service.code}",
            defaults={
                "kind": service.kind,
                "department": departments[service.department],
                "name": service.name,
                "description": service.description,
                "included": service.included,
                "excluded": {k: v for k, v in service.excluded.items() if v},
                "keywords": service.keywords,
                "comparable": comparables.get(service.comparable) if service.comparable else None,
                "standard_codes": [
                    {"system": system, "code": code} for system, code in service.standard_codes
                ],
                "waiting_days": service.waiting_days + spec.extra_wait if service.waiting_days else 0,
                "duration_minutes": service.duration_minutes,
                "stay_days": service.stay_days,
                "active": True,
            },
        )
        items[service.code] = item
        _prices(item, service, price, summary)
        summary.items += 1
    for service in SERVICES:
        if service.code not in items:
            continue
        for component, quantity in service.components:
            PackageComponent.objects.update_or_create(
                package=items[service.code], item=items[component], defaults={"quantity": quantity}
            )


def _users(hospitals: dict[str, Hospital], summary: DemoSummary) -> None:
    for spec in USERS:
        user = User.objects.filter(username=spec.username).first()
        created = user is None
        if created:
            user = User(username=spec.username)
        user.role = spec.role
        user.hospital = hospitals[spec.hospital] if spec.hospital else None
        user.first_name, user.last_name = spec.first_name, spec.last_name
        user.email = f"{spec.username}@demo.example"
        user.is_active = True
        if created:
            password_validation.validate_password(DEMO_PASSWORD, user)
            user.set_password(DEMO_PASSWORD)
            summary.users_created += 1
        user.save()


def _rates(summary: DemoSummary) -> None:
    """Table rates for AED, SAR, KZT, MNT and RUB, unless the table already has a recent one."""
    day = clock.today() - datetime.timedelta(days=DEMO_RATE_AGE_DAYS)
    recent = day - datetime.timedelta(days=rates.max_age_days() // 2)
    wanted = dict(DEMO_RATES)
    try:
        usd = rates.rate_for("USD", day)
    except rates.RateUnavailable:
        usd = None  # without a dollar rate the pegged currencies have none either
    for currency, per_usd in USD_PEGS.items():
        if usd is not None:
            wanted[currency] = (usd.cny_per_unit / per_usd).quantize(Decimal("0.00000001"))
    for currency, cny_per_unit in sorted(wanted.items()):
        if ExchangeRate.objects.filter(currency=currency, rate_date__gte=recent).exists():
            continue
        source = DEMO_RATE_SOURCE
        if currency in USD_PEGS:
            source = f"{DEMO_RATE_SOURCE} (ECB US dollar rate and the {currency} peg)"
        ExchangeRate.objects.create(
            currency=currency, rate_date=day, cny_per_unit=cny_per_unit, source=source
        )
        summary.rates_created += 1


def refuse_on_a_live_site() -> None:
    """Demo accounts have a published password: outside demo mode, only an empty or demo-only site
    takes them."""
    if getattr(settings, "DEMO_MODE", False):
        return
    demo_usernames = [user.username for user in USERS]
    if (
        Hospital.objects.filter(is_demo=False).exists()
        or User.objects.exclude(username__in=demo_usernames).exists()
    ):
        raise Conflict(
            _(
                "This database holds real hospitals or accounts, and the demo accounts have a published "
                "password. Load the demo data only into a demo database (LAIHUA_DEMO=1)."
            )
        )


@transaction.atomic
def _journeys() -> None:
    """Patient profiles, letter settings, a few cases and their quotes (each loader is idempotent)."""
    from laihua.billing import demo as billing_demo
    from laihua.capacity import demo as capacity_demo
    from laihua.cases import demo as cases_demo
    from laihua.insurance import demo as insurance_demo
    from laihua.patients import demo as patients_demo
    from laihua.planning import demo as planning_demo
    from laihua.quotes import demo as quotes_demo
    from laihua.records import demo as records_demo
    from laihua.travel import demo as travel_demo

    patients_demo.load()
    travel_demo.load()
    cases_demo.load()
    quotes_demo.load()
    capacity_demo.load()
    insurance_demo.load()
    planning_demo.load()
    records_demo.load()
    billing_demo.load()


def load_demo() -> DemoSummary:
    """Load or refresh the demo hospitals, users, catalogs, rates and the shipped reference prices."""
    refuse_on_a_live_site()
    summary = DemoSummary()
    summary.reference = reference_data.load_reference_data(None)
    hospitals = {}
    for spec in HOSPITALS:
        hospitals[spec.key] = _hospital(spec)
        _catalog(spec, hospitals[spec.key], summary)
    summary.hospitals = len(hospitals)
    _users(hospitals, summary)
    _rates(summary)
    _journeys()
    if summary.users_created or summary.prices_created or summary.rates_created:
        record_event(
            None,
            "demo.load",
            None,
            detail={
                "hospitals": summary.hospitals,
                "items": summary.items,
                "users_created": summary.users_created,
                "prices_created": summary.prices_created,
                "rates_created": summary.rates_created,
            },
        )
    return summary
