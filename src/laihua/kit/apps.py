from django.apps import AppConfig


class KitConfig(AppConfig):
    """The kit is an app only so that its form widgets' templates are found; it has no models."""

    name = "laihua.kit"
