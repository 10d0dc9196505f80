"""The node's services: storage-level operations shared by the API, the worker and the CLI."""
