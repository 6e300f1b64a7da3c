"""Reusable test helpers: contract suites per plug-in kind and hardware fakes."""
