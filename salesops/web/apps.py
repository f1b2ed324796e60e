import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "salesops.web"
    label = "web"
    verbose_name = _("Web pages")

    def ready(self) -> None:
        # List exports on the worker need the lists (this app); the daily purge of
        # expired export files joins the schedule (automation may not import imports).
        from salesops.automation.schedule import Job, register
        from salesops.imports.tasks import purge_exports
        from salesops.web.views import exports

        exports.register_producer()
        register(Job("imports.purge_exports", purge_exports, dt.time(3, 30)))
