from django.http import HttpResponse


def price_file_json(request, slug):
    return HttpResponse("")


def price_file_csv(request, slug):
    return HttpResponse("")
