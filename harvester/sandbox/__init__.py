"""A local, offline stand-in for every API the harvester crawls.

``python -m harvester.sandbox --port 8960`` serves all providers on one port of
127.0.0.1 over a deterministic synthetic catalog (see :mod:`.catalog`). Each
provider's endpoints live in their own module (:mod:`.pandapon`, ...) and check
signatures, timestamps and credentials exactly as the provider does, answering
with that provider's own error envelopes.

Control endpoints, for tests and users:

- ``GET /_sandbox/stores``: every 1688 store's ``sellerOpenId`` and ``totalRecords``.
- ``GET /_sandbox/stats``: calls served per API and per outcome.
- ``POST /_sandbox/faults``: queue faults for the next calls of an API
  (``{"api": "pandapon", "fault": "http500", "count": 2}``); see :mod:`.faults`.
"""
