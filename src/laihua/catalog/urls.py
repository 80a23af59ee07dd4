from django.urls import path

from laihua.catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.item_list, name="items"),
    path("new/", views.item_create, name="item_create"),
    path("<int:item_id>/", views.item_edit, name="item"),
    path("<int:item_id>/prices/", views.price_create, name="price_create"),
]
