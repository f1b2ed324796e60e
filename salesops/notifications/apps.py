from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "salesops.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from salesops.notifications import kinds

        kinds.register_builtin()
