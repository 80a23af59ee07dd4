from django.urls import path

from laihua.analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.hospital, name="hospital_own"),
    path("city/", views.city, name="city"),
    path("city/<slug:view>.csv", views.city_csv, name="city_csv"),
    path("hospitals/<slug:slug>/", views.hospital, name="hospital"),
    path("hospitals/<slug:slug>/<slug:view>.csv", views.hospital_csv, name="hospital_csv"),
]
