"""Test helpers of the Composer-site stack: real parts for tests, demos and benches.

- `tma_composer.testing.trees`: Symfony, Laravel and plain Composer project trees.

Nothing here is imported by the agent itself; import the module you need.
"""
