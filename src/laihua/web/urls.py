from django.urls import path

from laihua.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("prices/", views.search, name="search"),
    path("hospitals/", views.hospital_list, name="hospitals"),
    path("hospitals/<slug:slug>/", views.hospital, name="hospital"),
    path("hospitals/<slug:hospital>/services/<str:code>/", views.item, name="item"),
    path("compare/<slug:key>/", views.compare, name="compare"),
    path("currency/", views.set_currency, name="set_currency"),
]
