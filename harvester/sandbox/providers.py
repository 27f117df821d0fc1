"""The provider modules the sandbox serves. Add a module here to serve a new API.

Each module defines ``NAME``, ``CREDENTIAL_DEFAULTS`` (variable → default value),
``BASE_URL_VARIABLE`` and ``register(app)``, which adds its routes.
"""

from __future__ import annotations

from harvester.sandbox import pandapon

PROVIDER_MODULES = [pandapon]
