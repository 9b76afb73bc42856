"""aeclust: the library behind the workflow (data, models, training, clustering, metrics)."""

__version__ = "0.3.0"  # pyproject.toml's version (tests/test_dependencies.py)
