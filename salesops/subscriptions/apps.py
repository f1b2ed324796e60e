from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    name = "salesops.subscriptions"
    label = "subscriptions"
    verbose_name = _("Report subscriptions")

    def ready(self) -> None:
        import datetime as dt

        from salesops.automation.schedule import Job, register
        from salesops.subscriptions.tasks import send_subscriptions

        # Subscriptions are due on the hour (organisation's time zone); the daily
        # schedule has one job per hour, each enqueued once a day by one worker. A
        # worker that was down catches each hour up once; the runs' unique slot keeps
        # the catch-up from sending anything twice.
        for hour in range(24):
            register(Job(f"subscriptions.send.{hour:02d}", send_subscriptions, dt.time(hour)))
