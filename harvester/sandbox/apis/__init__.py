"""One module per provider served by the sandbox, found automatically.

Each module defines ``NAME``, ``CREDENTIAL_DEFAULTS`` (variable → default value),
``BASE_URL_VARIABLE`` and ``register(app)``, which adds its routes and its
``app.error_builders`` / ``app.throttle_builders`` / ``app.credential_of`` entries.
"""
