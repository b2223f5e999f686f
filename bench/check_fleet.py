"""Benchmark `tma check` on a generated fleet: N real-layout sites (Drupal 10, Drupal 7,
WordPress) on local hosts and over a real sshd on 127.0.0.1, feeds served locally.

Reports, for a sequential baseline and a concurrent run over the same fleet in the same process:
sites per second and the speed-up ratio, SSH/command round trips per site (target <= 2), HTTP
requests per unique feed URL (target 1), and peak RSS. Speed is read as ratios, never as
absolute timings in tests.

    .venv/bin/python bench/check_fleet.py --sites 200 --ssh-sites 40 --concurrency 16
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tma_drupal.testing.feeds import drupal7_histories, drupal10_histories, serve_release_histories
from tma_drupal.testing.trees import build_drupal7, build_drupal10
from tma_wordpress.testing.answers import serve_wordpress_api
from tma_wordpress.testing.feeds import serve_wordfence
from tma_wordpress.testing.trees import build_wordpress

from tma_agent.config import Config
from tma_agent.log import setup_logging
from tma_agent.plugins import get_plugin_manager
from tma_agent.runner import CheckRun
from tma_agent.sources import Fetcher
from tma_agent.testing.composer_answers import advisories_route
from tma_agent.testing.feeds import FeedServer
from tma_agent.testing.sshd import SSHServer

MODULES = ["pathauto", "token", "webform", "metatag", "redirect", "admin_toolbar"]


def feeds() -> tuple[dict[str, str], dict[str, str]]:
    return drupal10_histories(MODULES), drupal7_histories()


def build_site(root: Path, index: int) -> None:
    kind = index % 3
    if kind == 0:
        chosen = {m: "8.x-1.12" if (index + i) % 2 else "8.x-1.13" for i, m in enumerate(MODULES)}
        build_drupal10(root, modules=chosen)
    elif kind == 1:
        build_drupal7(root)
    else:
        build_wordpress(
            root,
            plugins={"akismet": "5.0.2", "hello.php": "1.7.2"},
            themes={"twentytwentythree": "1.0"},
        )


def run_once(config: Config, concurrency: int) -> dict[str, Any]:
    pm = get_plugin_manager()
    with Fetcher() as fetcher:
        run = CheckRun(config, pm, fetcher=fetcher)
        started = time.perf_counter()
        reports = run.run(config.sites, concurrency=concurrency)
        elapsed = time.perf_counter() - started
    statuses = Counter(r.status for r in reports)
    trips = list(run.round_trips.values())
    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "sites_per_second": round(len(reports) / elapsed, 1),
        "statuses": dict(statuses),
        "round_trips_per_site_max": max(trips),
        "round_trips_per_site_mean": round(sum(trips) / len(trips), 2),
        "requests_per_unique_url_max": max(fetcher.sent.values()),
        "unique_requests": len(fetcher.sent),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=120, help="local sites")
    parser.add_argument("--ssh-sites", type=int, default=30, help="sites read over the test sshd")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    setup_logging("json", verbosity=-1)
    work = Path(tempfile.mkdtemp(prefix="tma-bench-"))
    sshd = SSHServer().start() if args.ssh_sites else None
    try:
        base = sshd.make_shared_dir() if sshd else work
        sites: list[dict[str, Any]] = []
        for i in range(args.sites + args.ssh_sites):
            root = base / f"site-{i:04d}"
            build_site(root, i)
            if i < args.sites:
                env = {"host": "local", "path": str(root)}
            else:
                assert sshd is not None
                env = {"host": f"ssh://{sshd.user}@127.0.0.1:{sshd.port}", "path": str(root)}
            sites.append(
                {"id": f"site-{i:04d}", "client": "bench", "environments": {"production": env}}
            )
        d10, d7 = feeds()
        with FeedServer() as server:
            drupal = serve_release_histories(server, d10)
            serve_release_histories(server, d7, api="7.x")
            server.routes["/api/security-advisories/"] = advisories_route({})
            serve_wordpress_api(
                server,
                core_releases=["6.7.1", "6.1.9"],
                plugins={"akismet": "5.3.5", "hello": "1.7.2"},
                themes={"twentytwentythree": "1.0"},
            )
            ssh = (
                {
                    "key_file": str(sshd.client_key_path),
                    "known_hosts": str(sshd.known_hosts_path),
                    "use_agent": False,
                }
                if sshd
                else {}
            )
            config = Config.model_validate(
                {
                    "state_dir": str(work / "state"),
                    "ssh": ssh,
                    "sources": {
                        "drupal": {"url": drupal},
                        "wordpress": {"url": server.url},
                        "wordfence": {"url": serve_wordfence(server, [])},
                        "packagist": {"url": server.url},
                    },
                    "clients": [{"id": "bench", "name": "Bench"}],
                    "sites": sites,
                }
            )
            baseline = run_once(config, 1)
            hits_after_baseline = sum(server.hits.values())
            concurrent = run_once(config, args.concurrency)
            hits_concurrent = sum(server.hits.values()) - hits_after_baseline
        peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result = {
            "sites": len(sites),
            "ssh_sites": args.ssh_sites,
            "baseline": baseline,
            "concurrent": concurrent,
            "speedup": round(baseline["seconds"] / concurrent["seconds"], 2),
            "http_requests_on_server_per_run": hits_concurrent,
            "http_requests_per_unique_url": round(
                hits_concurrent / concurrent["unique_requests"], 2
            ),
            "peak_rss_mib": round(peak_rss_mib, 1),
        }
        json.dump(result, sys.stdout, indent=2)
        print()
        ok = (
            concurrent["round_trips_per_site_max"] <= 2
            and result["http_requests_per_unique_url"] == 1
        )
        return 0 if ok else 1
    finally:
        if sshd:
            sshd.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
