from django.urls import path

from laihua.cases import views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.inquiry_new, name="new"),
    path("<str:reference>/", views.case_detail, name="detail"),
    path("<str:reference>/messages/", views.message_post, name="message"),
    path("<str:reference>/transitions/", views.transition, name="transition"),
    path("<str:reference>/assign/", views.assign, name="assign"),
    path("<str:reference>/attachments/<int:attachment_id>/", views.attachment, name="attachment"),
]
