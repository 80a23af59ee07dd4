from django.contrib.auth import views as auth_views
from django.urls import path

from laihua.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("settings/", views.home, name="settings"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
