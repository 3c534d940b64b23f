"""The package version, on its own so that the layers can name it without importing the
`arcgraph` facade (whose `train` reaches the trainer, torch, numpy and pyarrow)."""

__version__ = "0.1.0"
