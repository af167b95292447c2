# pytester drives the plugin-behaviour tests in tests/plugin.
pytest_plugins = ["pytester"]
