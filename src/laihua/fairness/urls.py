from django.urls import path

from laihua.fairness import views

app_name = "fairness"

urlpatterns = [
    path("", views.page, name="report"),
]
