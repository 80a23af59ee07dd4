from django.urls import path

from laihua.capacity import views

app_name = "capacity"

urlpatterns = [
    path("", views.resources, name="resources"),
    path("resources/new/", views.resource_create, name="resource_create"),
    path("resources/<int:resource_id>/", views.resource_page, name="resource"),
    path("resources/<int:resource_id>/", views.resource_page, name="resource_update"),  # the forms post here
    path("resources/<int:resource_id>/usages/", views.usage_add, name="usage_add"),
    path("usages/<int:usage_id>/remove/", views.usage_remove, name="usage_remove"),
    path("upload/", views.capacity_upload, name="upload"),
    path("book/", views.book, name="book"),
    path("bookings/<int:booking_id>/cancel/", views.cancel, name="cancel"),
    path("waitlist/<int:entry_id>/leave/", views.leave_waitlist, name="leave_waitlist"),
    path("cases/<str:reference>/", views.case_page, name="case"),
    path("utilisation/", views.utilisation, name="utilisation"),
    path("utilisation.csv", views.utilisation_csv, name="utilisation_csv"),
    path("utilisation/metrics/", views.metrics, name="metrics"),
]
