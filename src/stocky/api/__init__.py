"""The REST API: `create_app(settings)` builds it."""
