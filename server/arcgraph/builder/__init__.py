"""The model builder: a model spec -> a torch `nn.Module`, with torch as its only dependency.

Shared by the torch worker (the shape check on the `meta` device) and the trainer, so it
imports nothing of numpy, pyarrow, the trainer or the language server. Modules: `build`
(spec -> nn.Module, example inputs), `torchnames` (the only door from a spec name to a torch
object), `errors` (the node-naming errors both report).
"""
