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
    path("cases/<str:reference>/stay/flights/", views.flight_add, name="flight_add"),
    path("cases/<str:reference>/stay/flights/<int:flight_id>/remove/", views.flight_remove, name="flight_remove"),
    path("cases/<str:reference>/stay/pickup/", views.pickup, name="pickup"),
    path("cases/<str:reference>/stay/accommodation/", views.booking_request, name="booking_request"),
    path("cases/<str:reference>/stay/accommodation/<int:booking_id>/", views.booking_status, name="booking_status"),
    path("cases/<str:reference>/stay/companions/", views.companions, name="companions"),
    path("cases/<str:reference>/stay/entry/", views.entry, name="entry"),
    path("accommodations/", views.accommodations, name="accommodations"),
    path("accommodations/<int:accommodation_id>/", views.accommodation_edit, name="accommodation_edit"),
]
