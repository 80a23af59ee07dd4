from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import set_language

from laihua.api import api
from laihua.catalog import pricefiles
from laihua.fairness import views as fairness_views
from laihua.fhir_api import fhir_api
from laihua.records import transfer_views
from laihua.web import probes

urlpatterns = [
    path("healthz", probes.healthz, name="healthz"),
    path("metrics", probes.metrics_view, name="metrics"),
    # Browsers ask for /favicon.ico whatever the page says (PDF views, bookmarks).
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
    path("api/", api.urls),
    path("fhir/", fhir_api.urls),
    path("i18n/setlang/", set_language, name="set_language"),
    path("webauthn/", include("laihua.accounts.webauthn")),  # passkey ceremonies (JSON), second factor
    path("prices/<slug:slug>.json", pricefiles.price_file_json, name="price_file_json"),
    path("prices/<slug:slug>.csv", pricefiles.price_file_csv, name="price_file_csv"),
    # The fairness report's open data, without sign-in (the page is under each language below).
    path("fairness.json", fairness_views.open_json, name="fairness_json"),
    path("fairness.csv", fairness_views.open_csv, name="fairness_csv"),
    # Records shared with a doctor abroad: no login, the token names one transfer and a code e-mailed to its
    # recipient opens it in one browser (records/services/transfers.py, records/transfer_views.py).
    path("shared/<str:token>/", transfer_views.transfer_page, name="transfer_page"),
    path("shared/<str:token>/code", transfer_views.transfer_code, name="transfer_code"),
    path("shared/<str:token>/verify", transfer_views.transfer_verify, name="transfer_verify"),
    path("shared/<str:token>/ips.json", transfer_views.transfer_json, name="transfer_json"),
    path("shared/<str:token>/ips.xml", transfer_views.transfer_xml, name="transfer_xml"),
    path("shared/<str:token>/summary.pdf", transfer_views.transfer_pdf, name="transfer_pdf"),
]

urlpatterns += i18n_patterns(
    path("", include("laihua.web.urls")),
    path("accounts/", include("laihua.accounts.urls")),
    path("manage/catalog/", include("laihua.catalog.urls")),
    path("patients/", include("laihua.patients.urls")),
    path("cases/", include("laihua.cases.urls")),
    path("quotes/", include("laihua.quotes.urls")),
    path("travel/", include("laihua.travel.urls")),
    path("capacity/", include("laihua.capacity.urls")),
    path("interpreters/", include("laihua.interpreters.urls")),
    path("planning/", include("laihua.planning.urls")),
    path("records/", include("laihua.records.urls")),
    path("insurance/", include("laihua.insurance.urls")),
    path("billing/", include("laihua.billing.urls")),
    path("fairness/", include("laihua.fairness.urls")),
    path("analytics/", include("laihua.analytics.urls")),
    path("manage/audit/", include("laihua.audit.urls")),
    path("admin/", admin.site.urls),
    prefix_default_language=True,
)

handler404 = "laihua.kit.weberrors.not_found"
handler400 = "laihua.kit.weberrors.bad_request"
handler500 = "laihua.kit.weberrors.server_error"
