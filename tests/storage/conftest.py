from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite"])
def database_url(request, tmp_path):
    return f"sqlite:///{tmp_path / 'storage.sqlite'}"
