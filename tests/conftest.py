"""The fixtures of tests/lib/clawgate_test/fixtures.py for every suite."""

pytest_plugins = ["clawgate_test.fixtures"]
