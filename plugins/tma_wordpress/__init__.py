"""WordPress stack plugin: core, plugins, must-use plugins and themes checked against
api.wordpress.org with one request per endpoint per site (identical requests shared by the run).

Modules: `detect` (is it WordPress, where is the root), `headers` (get_file_data-style header
parsing), `inventory` (one batched read of the content directory), `api` (the three update
checks), `evaluate` (findings), `security` (which vulnerability feeds run: `wordfence`,
`wpscan`) and `vulnerabilities` (what their matches do to findings), `testing` (site, answer
and feed builders for tests and the demo).
"""

from __future__ import annotations

from tma_wordpress.hooks import WordPressStack

__all__ = ["WordPressStack", "plugin"]

#: What the `tma_agent` entry point registers.
plugin = WordPressStack()
