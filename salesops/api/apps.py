from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "salesops.api"
    label = "api"
    verbose_name = _("REST API")

    def ready(self) -> None:
        import datetime as dt

        from salesops.api.tasks import purge_idempotency
        from salesops.api.tokens import revoke_tokens_of_deactivated
        from salesops.automation.schedule import Job, register
        from salesops.users.admin_services import user_deactivated

        # A deactivated person's tokens are revoked with them (reactivating does not
        # bring them back).
        user_deactivated.connect(revoke_tokens_of_deactivated, dispatch_uid="api-revoke-tokens")

        # Stored Idempotency-Key responses are dropped daily, after the night's reclaim.
        register(Job("api.purge_idempotency", purge_idempotency, dt.time(3, 0)))
