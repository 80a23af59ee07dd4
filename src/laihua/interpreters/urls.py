from django.urls import path

from laihua.interpreters import views

app_name = "interpreters"
urlpatterns = [
    path("", views.pool, name="pool"),
    path("export.csv", views.export, name="export"),
    path("import/", views.import_file, name="import"),
    path("<int:interpreter_id>/", views.edit, name="edit"),
    path("<int:interpreter_id>/days-away/", views.absence_add, name="absence_add"),
    path("<int:interpreter_id>/days-away/<int:absence_id>/remove/", views.absence_remove, name="absence_remove"),
]
