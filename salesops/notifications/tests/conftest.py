from salesops.subscriptions.tests.smtp import smtp, smtp_down  # noqa: F401
