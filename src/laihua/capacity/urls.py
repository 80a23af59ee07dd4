from django.urls import path

from laihua.capacity import views

app_name = "capacity"

urlpatterns = [
    path("", views.resources, name="resources"),
    path("resources/new/", views.resource_create, name="resource_create"),
    path("resources/<int:resource_id>/", views.resource_update, name="resource_update"),
    path("upload/", views.capacity_upload, name="upload"),
    path("book/", views.book, name="book"),
    path("bookings/<int:booking_id>/cancel/", views.cancel, name="cancel"),
    path("utilisation/", views.utilisation, name="utilisation"),
    path("utilisation.csv", views.utilisation_csv, name="utilisation_csv"),
]
