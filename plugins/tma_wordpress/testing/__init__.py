"""Test helpers of the WordPress stack: real parts for tests, demos and benches.

- `tma_wordpress.testing.trees`: WordPress trees (built, or Debian's package copied);
- `tma_wordpress.testing.answers`: api.wordpress.org update-check answers;
- `tma_wordpress.testing.feeds`: Wordfence and WPScan vulnerability feeds.

Nothing here is imported by the agent itself; import the module you need.
"""
