from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "salesops.automation"
    label = "automation"
    verbose_name = _("Automation and background work")

    def ready(self) -> None:
        import datetime as dt

        from salesops.automation.schedule import Job, register
        from salesops.automation.tasks import send_notification_digests

        # The notices' daily digest, after the morning's pool warnings so that it
        # carries them.
        register(Job("notifications.digest", send_notification_digests, dt.time(8, 30)))
