"""The torch worker: a subprocess that owns every torch import for the checker and the LSP.

`client.TorchWorker` (torch-free) talks to `python -m arcgraph.worker` (`main.py`) over JSON
lines. `introspect.py` builds the API catalog and `probes.py` lets torch judge optimizer
settings and model shapes (both import torch, worker side only); `accepts.py`, `rst.py` and
`signatures.py` are their torch-free helpers. Importing this package does not import torch.
"""
