"""aeclust: the library behind the workflow (data, models, training, clustering, metrics)."""

__version__ = "0.2.0"
