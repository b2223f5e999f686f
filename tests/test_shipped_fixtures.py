"""The shipped fixtures as a third-party plugin's suite uses them: a separate pytest run in a
project of its own, which gets them only by asking (`pytest_plugins`), as docs/hooks.md says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DOC = (Path(__file__).parent.parent / "docs" / "hooks.md").read_text()

SUITE = textwrap.dedent("""
    import httpx

    from tma_agent.testing.feeds import FeedServer, Reply


    def test_feed_server_answers(feed_server: FeedServer) -> None:
        feed_server.routes["/x"] = Reply("hello")
        assert httpx.get(feed_server.url + "/x").text == "hello"
        assert feed_server.hits["/x"] == 1


    def test_drupal_tree(drupal10_tree) -> None:
        assert (drupal10_tree.docroot / "core/lib/Drupal.php").is_file()
""")


def _pytest(project: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "test_plugin.py").write_text(SUITE)
    # Its own rootdir: this repository's conftest.py and pyproject.toml stay out of it.
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return tmp_path


def test_installing_the_agent_adds_no_fixture_to_other_suites(project: Path) -> None:
    result = _pytest(project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "fixture 'feed_server' not found" in result.stdout
    assert "fixture 'drupal10_tree' not found" in result.stdout


def test_the_documented_pytest_plugins_line_loads_them(project: Path) -> None:
    documented = re.findall(r"^pytest_plugins = \[.*\]$", DOC, flags=re.M)
    assert documented == ['pytest_plugins = ["tma_agent.testing.pytest_plugin"]']
    # The docs say to list the Drupal fixtures too for `drupal10_tree`.
    plugins = [*json.loads(documented[0].split("=", 1)[1]), "tma_drupal.testing.fixtures"]
    (project / "conftest.py").write_text(f"pytest_plugins = {json.dumps(plugins)}\n")
    result = _pytest(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
