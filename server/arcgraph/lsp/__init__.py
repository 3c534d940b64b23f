"""`arcgraph lsp`: the language server (pygls 2), a thin layer over `arcgraph.engine.core`.

One module per feature, each a small class registered on the server in `server.py`:
diagnostics (two stages, versioned), hover, completion, definition and document symbols.
Torch is never imported here; the torch worker answers in its own process.
"""
