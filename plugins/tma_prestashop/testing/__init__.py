"""Test helpers of the PrestaShop stack: real parts for tests, demos and benches.

- `tma_prestashop.testing.trees`: PrestaShop 1.6 to 9 trees;
- `tma_prestashop.testing.answers`: distribution API, module index and advisories answers.

Nothing here is imported by the agent itself; import the module you need.
"""
