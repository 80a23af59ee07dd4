from django.urls import path

from laihua.quotes import views

app_name = "quotes"

urlpatterns = [
    path("", views.quote_list, name="list"),
    path("new/<str:reference>/", views.quote_new, name="new"),
    path("<str:number>/", views.quote_detail, name="detail"),
    path("<str:number>/terms/", views.terms, name="terms"),
    path("<str:number>/lines/", views.line_add, name="line_add"),
    path("<str:number>/lines/<int:line_id>/", views.line_edit, name="line_edit"),
    path("<str:number>/lines/<int:line_id>/remove/", views.line_remove, name="line_remove"),
    path("<str:number>/catalog/", views.catalog_search, name="catalog"),
    path("<str:number>/send/", views.send, name="send"),
    path("<str:number>/discard/", views.discard, name="discard"),
    path("<str:number>/accept/", views.accept, name="accept"),
    path("<str:number>/decline/", views.decline, name="decline"),
    path("<str:number>/pdf/", views.pdf, name="pdf"),
]
