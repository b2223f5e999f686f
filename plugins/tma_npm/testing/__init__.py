"""Test helpers of the npm stack: real parts for tests, demos and benches.

- `tma_npm.testing.trees`: npm projects with their lockfiles;
- `tma_npm.testing.answers`: npm registry answers (packuments, bulk advisories).

Nothing here is imported by the agent itself; import the module you need.
"""
