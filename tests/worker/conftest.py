"""The worker suite needs torch; its `worker`/`catalog` fixtures live in tests/conftest.py."""

import pytest

pytest.importorskip("torch")
