import pytest

from analyzer.engine import Engine


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine().initialize()
