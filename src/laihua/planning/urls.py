from django.urls import path

from laihua.planning import views

app_name = "planning"
urlpatterns = [
    path("cases/<str:reference>/", views.case_trip, name="case"),
    path("cases/<str:reference>/plan/", views.plan, name="plan"),
    path("itineraries/<int:itinerary_id>/confirm/", views.confirm, name="confirm"),
    path("itineraries/<int:itinerary_id>/trip.ics", views.ics, name="ics"),
    path("itineraries/<int:itinerary_id>/trip.pdf", views.pdf, name="pdf"),
]
