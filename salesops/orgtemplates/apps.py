from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgTemplatesConfig(AppConfig):
    name = "salesops.orgtemplates"
    label = "orgtemplates"
    verbose_name = _("Industry templates")
