from django.urls import path

from laihua.travel import views

app_name = "travel"

urlpatterns = [
    path("entry/", views.guidance, name="guidance"),
    path("cases/<str:reference>/letter/", views.letter_new, name="letter_new"),
    path("letters/<int:letter_id>.pdf", views.letter_pdf, name="letter_pdf"),
    path("letters/<int:letter_id>/revoke/", views.letter_revoke, name="letter_revoke"),
    path("letter-settings/", views.letter_settings, name="letter_settings"),
    path("rules/", views.rules, name="rules"),
]
