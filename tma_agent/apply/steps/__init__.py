"""The core's step families, each a plugin registered through the `tma_agent` entry points."""
