from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsuranceConfig(AppConfig):
    name = "laihua.insurance"
    verbose_name = _("Insurers and guarantees of payment")

    def ready(self):
        # How the insurance events read on the case timeline (the cases app's table of labels).
        from laihua.cases.templatetags.cases_tags import EVENT_LABELS

        EVENT_LABELS.update(
            {
                "coverage_recorded": _("Insurance coverage recorded"),
                "gop_sent": _("Guarantee of payment requested"),
                "gop_resubmitted": _("Guarantee of payment request sent again"),
                "gop_answered": _("Insurer answered the guarantee of payment request"),
                "gop_cancelled": _("Guarantee of payment request withdrawn"),
                "gop_overdue": _("No answer from the insurer by the deadline"),
            }
        )
