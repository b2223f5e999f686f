"""Test helpers of the Drupal stack: real parts for tests, demos and benches.

- `tma_drupal.testing.trees`: Drupal 10 and 7 site trees;
- `tma_drupal.testing.feeds`: drupal.org release-history feeds and their routes;
- `tma_drupal.testing.fixtures`: pytest fixtures (`drupal10_tree`, `drupal7_tree`).

Nothing here is imported by the agent itself; import the module you need.
"""
