"""The engine: parse, schema, graph, checks, workspace registry, torch catalog, fixes.

Everything the faces share (the language server, `arcgraph check`, the trainer's pre-flight)
and nothing else: no torch, no numpy, no pyarrow, and none of the faces (`lsp`, `training`,
`worker`, `builder`). `pyproject.toml`'s import-linter contracts hold it to that.
"""
