from django.urls import path

from laihua.insurance import views

app_name = "insurance"
urlpatterns = [
    path("portal/", views.portal, name="portal"),
    path("portal/<str:number>/", views.gop_detail, name="portal_detail"),
    path("gop/<str:number>/", views.gop_detail, name="detail"),
    path("gop/<str:number>/answer/", views.gop_answer, name="answer"),
    path("gop/<str:number>/resubmit/", views.gop_resubmit, name="resubmit"),
    path("gop/<str:number>/cancel/", views.gop_cancel, name="cancel"),
    path("case/<str:reference>/coverage/", views.coverage_save, name="coverage"),
    path("case/<str:reference>/gop/", views.gop_send, name="send"),
    path("case/<str:reference>/consent/", views.consent_grant, name="consent_grant"),
    path("case/<str:reference>/consent/ask/", views.consent_ask, name="consent_ask"),
    path("case/<str:reference>/consent/paper/", views.consent_paper, name="consent_paper"),
    path("contracts/", views.contracts, name="contracts"),
    path("contracts/save/", views.contract_save, name="contract_save"),
    path("insurers/", views.insurers, name="insurers"),
]
