from django.apps import AppConfig


class LibConfig(AppConfig):
    name = "salesops.lib"
    label = "lib"
