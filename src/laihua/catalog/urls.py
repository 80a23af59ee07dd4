from django.urls import path

from laihua.catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.item_list, name="items"),
]
