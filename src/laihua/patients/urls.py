from django.urls import path

from laihua.patients import views

app_name = "patients"

urlpatterns = [
    path("register/", views.register, name="register"),
    path("register/sent/", views.register_sent, name="register_sent"),
    path("register/confirm/<uidb64>/<token>/", views.register_confirm, name="register_confirm"),
    path("me/", views.profile, name="profile"),
    path("me/edit/", views.profile_edit, name="profile_edit"),
    path("me/companions/add/", views.companion_add, name="companion_add"),
    path("me/companions/<int:companion_id>/", views.companion_edit, name="companion_edit"),
    path("me/companions/<int:companion_id>/remove/", views.companion_remove, name="companion_remove"),
    path("<int:patient_id>/", views.patient_detail, name="detail"),
]
