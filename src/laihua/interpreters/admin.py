from django.contrib import admin

from laihua.interpreters.models import Absence, Interpreter


class AbsenceInline(admin.TabularInline):
    model = Absence
    extra = 0


@admin.register(Interpreter)
class InterpreterAdmin(admin.ModelAdmin):
    list_display = ("name", "hospital", "employment", "agency", "level", "active")
    list_filter = ("hospital", "employment", "level", "active")
    search_fields = ("name", "agency")
    raw_id_fields = ("user",)
    inlines = [AbsenceInline]
