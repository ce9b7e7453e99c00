"""User interfaces of modellake: the CLI and the web chat."""
