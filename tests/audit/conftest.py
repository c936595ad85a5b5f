from tests.access.conftest import who, world  # noqa: F401 - fixtures
