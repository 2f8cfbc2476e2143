import pytest
from hypothesis import HealthCheck, settings

# Property-based tests run derandomized (a fixed seed) with no example database, so every run, CI's included,
# draws the same cases and a failure reproduces.
settings.register_profile("quadlib", derandomize=True, database=None, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("quadlib")


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
