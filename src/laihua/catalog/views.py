from django.http import HttpResponse


def item_list(request):
    return HttpResponse("")
