from django.urls import path

from laihua.records import views

app_name = "records"

urlpatterns = [
    path("", views.index, name="index"),
    path("terms/", views.terms, name="terms"),
    path("documents/<int:document_id>/", views.document_raw, name="document"),
    path("documents/<int:document_id>/about/", views.document_detail, name="document_detail"),
    path("consents/<int:consent_id>/withdraw/", views.consent_withdraw, name="consent_withdraw"),
    path("consents/<int:consent_id>/paper/", views.consent_paper_file, name="consent_paper_file"),
    path("cases/<str:reference>/", views.case_records, name="case"),
    path("cases/<str:reference>/import/", views.import_upload, name="import"),
    path("cases/<str:reference>/import/<int:attachment_id>/", views.import_attachment, name="import_attachment"),
    path("cases/<str:reference>/ips.json", views.export_json, name="export_json"),
    path("cases/<str:reference>/ips.xml", views.export_xml, name="export_xml"),
    path("cases/<str:reference>/summary.pdf", views.export_pdf, name="export_pdf"),
    path("cases/<str:reference>/summary-pdf-state/", views.export_pdf_state, name="export_pdf_state"),
    path("cases/<str:reference>/discharge/", views.episode_summary, name="episode_summary"),
    path("cases/<str:reference>/discharge/row/<str:kind>/", views.episode_summary_row, name="episode_summary_row"),
    path("cases/<str:reference>/consents/", views.consent_grant, name="consent_grant"),
    path("cases/<str:reference>/consents/paper/", views.consent_paper, name="consent_paper"),
    path("cases/<str:reference>/send/", views.send, name="send"),
    path("transfers/<int:transfer_id>/revoke/", views.transfer_revoke, name="transfer_revoke"),
]
