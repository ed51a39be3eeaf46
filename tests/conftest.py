import pytest

from analyzer.config import Config
from analyzer.engine import Engine
from analyzer.pipeline import Pipeline


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine().initialize()


@pytest.fixture(scope="session")
def pipeline(engine: Engine) -> Pipeline:
    """The whole pipeline on the lexicon alone, without a sentiment model (fast), sharing ``engine``."""
    return Pipeline(Config(model="off", sentiment="none"), engine=engine).initialize()
