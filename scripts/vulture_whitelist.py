# Names vulture (run by scripts/test, configured in pyproject.toml) cannot see used: frameworks,
# the interpreter or protocols call them, not our code. Keep it small: code that nothing uses
# goes, it is not listed here. Vulture only parses this file; it is never run.
# ruff: noqa

_.descend_resolver  # PyYAML's composer calls these hooks per node (source._Loader)
_.ascend_resolver
current_node
current_index
_.CODE  # pygls reads a JsonRpcException's CODE for the error reply (references.RequestFailed)
ls  # pygls passes the server to a command handler through a parameter of this name
__getattr__  # a module __getattr__ (PEP 562): arcgraph.training's lazy exports
exc_type  # the __exit__ signature (runlock, signals)
tb
_.showwarning  # the worker routes warnings to stderr (warnings.showwarning); `file` is in its signature
file
_.restarts  # the worker client's crash-recovery count, asserted by tests/worker
_.last_error  # why the catalog build failed: shown when a catalog fixture or bench finds none
node_data  # lsp/shapes.py: per-node shapes and params for the graph view (arcgraph/modelGraph)
_.amp_backend  # TrainConfig mirrors the spec: only 'native' exists, so the value is checked, never read
_.preserve_quotes  # ruamel.yaml reads it (engine/formatting.py keeps the user's quotes)
