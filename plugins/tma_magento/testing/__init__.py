"""Test helpers of the Magento stack: real parts for tests, demos and benches.

- `tma_magento.testing.trees`: Magento 2 / Adobe Commerce / Mage-OS trees;
- `tma_magento.testing.answers`: product releases as a Composer repository lists them.

Nothing here is imported by the agent itself; import the module you need.
"""
