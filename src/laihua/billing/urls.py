from django.urls import path

from laihua.billing import views

app_name = "billing"
urlpatterns = [
    path("", views.invoice_list, name="list"),
    path("mine/", views.my_invoices, name="mine"),
    path("receivables/", views.receivables, name="receivables"),
    path("receivables.csv", views.receivables_csv, name="receivables_csv"),
    path("exchange-differences/", views.exchange_differences, name="exchange"),
    path("exchange-differences.csv", views.exchange_differences_csv, name="exchange_csv"),
    path("cases/<str:reference>/invoice/", views.start, name="start"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="invoice"),
    path("invoices/<int:invoice_id>/lines/", views.add_extra, name="add_extra"),
    path("invoices/<int:invoice_id>/lines/<int:line_id>/confirm/", views.confirm, name="confirm"),
    path("invoices/<int:invoice_id>/lines/<int:line_id>/remove/", views.remove_extra, name="remove_extra"),
    path("invoices/<int:invoice_id>/issue/", views.issue, name="issue"),
    path("invoices/<int:invoice_id>/cancel/", views.cancel, name="cancel"),
    path("invoices/<int:invoice_id>/official-receipt/", views.official_receipt, name="official_receipt"),
    path("invoices/<int:invoice_id>/payments/", views.record_payment, name="payment"),
    path("invoices/<int:invoice_id>/payments/new-form/", views.new_payment_form, name="payment_form"),
    path("invoices/<int:invoice_id>/write-offs/", views.propose_write_off, name="write_off"),
    path("invoices/<int:invoice_id>/write-offs/<int:write_off_id>/", views.decide_write_off, name="decide_write_off"),
    path("invoices/<int:invoice_id>/claims/", views.submit_claim, name="claim"),
    path("invoices/<int:invoice_id>/pdf/", views.download_pdf, name="pdf"),
    path("invoices/<int:invoice_id>/receipt/", views.download_receipt, name="receipt"),
    path("claims/<int:claim_id>/response/", views.claim_response, name="claim_response"),
    path("claims/<int:claim_id>/shortfall/", views.shortfall, name="shortfall"),
]
