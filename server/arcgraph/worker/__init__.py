"""The torch worker: a subprocess that owns every torch import for the checker and the LSP.

`client.TorchWorker` (torch-free) talks to `python -m arcgraph.worker` (`main.py`) over JSON
lines. `introspect.py` builds the API catalog; `accepts.py`, `rst.py` and `signatures.py` are
its torch-free helpers. Importing this package does not import torch.
"""
