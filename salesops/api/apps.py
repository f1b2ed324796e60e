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
        self._forget_tokens_on_permission_changes()

        # Stored Idempotency-Key responses are dropped daily, after the night's reclaim.
        register(Job("api.purge_idempotency", purge_idempotency, dt.time(3, 0)))

    @staticmethod
    def _forget_tokens_on_permission_changes() -> None:
        """Remembered tokens carry their user's data scope: any change that may alter a
        scope or a token empties that memory in this process at once."""
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from salesops.api.models import ApiToken
        from salesops.api.tokens import forget_tokens
        from salesops.crm.models import Deal
        from salesops.users.models import Role, Team, User

        for model in (User, Role, Team, ApiToken):
            post_save.connect(forget_tokens, sender=model, dispatch_uid=f"api-forget-{model}")
            post_delete.connect(forget_tokens, sender=model, dispatch_uid=f"api-forget-d-{model}")
        for through in (User.extra_teams.through, Deal.collaborators.through):
            m2m_changed.connect(forget_tokens, sender=through, dispatch_uid=f"api-forget-{through}")
