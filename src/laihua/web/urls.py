from django.urls import path

from laihua.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("prices/", views.home, name="search"),
    path("hospitals/", views.home, name="hospitals"),
    path("hospitals/<slug:slug>/", views.home, name="hospital"),
    path("hospitals/<slug:hospital>/services/<str:code>/", views.home, name="item"),
    path("compare/<slug:key>/", views.home, name="compare"),
    path("currency/", views.home, name="set_currency"),
]
