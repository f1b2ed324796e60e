from salesops.subscriptions.tests.data import week  # noqa: F401
from salesops.subscriptions.tests.smtp import smtp, smtp_down  # noqa: F401
