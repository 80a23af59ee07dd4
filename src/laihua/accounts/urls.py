from django.contrib.auth import views as auth_views
from django.urls import path

from laihua.accounts import mfa_views, views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/preferences/", views.save_preferences, name="preferences"),
    path("settings/tokens/", views.create_token, name="token_create"),
    path("settings/tokens/<int:token_id>/revoke/", views.revoke_token, name="token_revoke"),
    path("two-step/", mfa_views.verify, name="mfa_verify"),
    path("two-step/setup/", mfa_views.setup, name="mfa_setup"),
    path("two-step/setup/qr.svg", mfa_views.totp_qr, name="mfa_totp_qr"),
    path("two-step/recovery-codes/", mfa_views.recovery_codes, name="mfa_recovery_codes"),
    path("two-step/<str:kind>/<int:device_id>/remove/", mfa_views.remove, name="mfa_remove"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/changed/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
