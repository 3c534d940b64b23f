"""The semantic checks of both spec kinds, on located nodes; shared by CLI, LSP and trainer."""
