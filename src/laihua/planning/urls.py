from django.urls import path

from laihua.planning import pathway_views, views

app_name = "planning"
urlpatterns = [
    path("cases/<str:reference>/", views.case_trip, name="case"),
    path("cases/<str:reference>/plan/", views.plan, name="plan"),
    path("itineraries/<int:itinerary_id>/confirm/", views.confirm, name="confirm"),
    path("itineraries/<int:itinerary_id>/trip.ics", views.ics, name="ics"),
    path("itineraries/<int:itinerary_id>/trip.pdf", views.pdf, name="pdf"),
    path("rules/", views.rules_page, name="rules"),
    path("entries/<int:item_id>/interpreter/", views.interpreter_remote, name="interpreter_remote"),
    path("interpreters/shortages/", views.interpreter_shortages, name="interpreter_shortages"),
    path("interpreters/my-day/", views.interpreter_day, name="interpreter_day"),
    path("rules/services/<int:item_id>/", views.rule_save, name="rule_save"),
    path("rules/orders/", views.order_add, name="order_add"),
    path("rules/orders/<int:order_id>/", views.order_change, name="order_change"),
    path("rules/orders/<int:order_id>/remove/", views.order_remove, name="order_remove"),
    path("pathways/", pathway_views.pathways_page, name="pathways"),
    path("pathways/pathways.csv", pathway_views.pathways_csv, name="pathways_csv"),
    path("pathways/import/", pathway_views.pathways_import, name="pathways_import"),
    path("pathways/<str:code>/", pathway_views.pathway_page, name="pathway"),
    path("pathways/<str:code>/save/", pathway_views.pathway_save, name="pathway_save"),
    path("pathways/<str:code>/remove/", pathway_views.pathway_delete, name="pathway_delete"),
]
