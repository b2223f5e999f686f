"""The Magento, PrestaShop, Symfony and React sites of the demo fleet, and the feed answers
they need (a Composer repository, the Packagist advisories API, the PrestaShop distribution
API and module index, npm registry metadata and bulk advisories), all served on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

from tma_composer.testing.trees import build_symfony
from tma_magento.testing.answers import product_releases
from tma_magento.testing.trees import build_magento
from tma_npm.testing.answers import bulk_advisory, packument, serve_npm_registry
from tma_npm.testing.trees import build_npm_site
from tma_prestashop.testing.answers import advisory as presta_advisory
from tma_prestashop.testing.answers import modules_index, serve_distribution_api, serve_json
from tma_prestashop.testing.trees import build_prestashop

from tma_agent.testing.composer_trees import release, serve_composer_repository
from tma_agent.testing.feeds import FeedServer

__all__ = ["build_more_sites", "serve_more_feeds"]

MAGENTO_LINE = ["2.4.8", "2.4.7-p4", "2.4.7-p3"]


def build_more_sites(sites: Path) -> dict[str, Path]:
    return {
        "acme-store": build_magento(sites / "acme-store", version="2.4.7-p3").root,
        "boutique": build_prestashop(
            sites / "boutique",
            core="8.1.5",
            modules={"ps_facetedsearch": "3.14.1", "ps_emailsubscription": "2.7.0"},
        ),
        "acme-api": build_symfony(sites / "acme-api"),
        "acme-spa": build_npm_site(
            sites / "acme-spa",
            dependencies={
                "react": ("^18.2.0", "18.2.0"),
                "react-dom": ("^18.2.0", "18.2.0"),
                "axios": ("^1.6.0", "1.6.0"),
            },
            dev_dependencies={"vite": ("^5.0.0", "5.0.12")},
        ),
    }


def serve_more_feeds(server: FeedServer, work: Path) -> dict[str, object]:
    """Install every route; returns the `sources` entries to merge into the demo config."""
    composer = serve_composer_repository(
        server,
        "/composer",
        {
            "magento/product-community-edition": product_releases(
                "magento/product-community-edition", MAGENTO_LINE
            ),
            "acme-commerce/module-gift-wrap": [
                release("acme-commerce/module-gift-wrap", v, type="magento2-module")
                for v in ("2.4.0", "2.3.2", "2.3.1")
            ],
            "doctrine/orm": [release("doctrine/orm", v) for v in ("3.0.0", "2.17.5", "2.17.2")],
            "symfony/console": [
                release("symfony/console", v) for v in ("v7.0.3", "v6.4.4", "v6.4.3")
            ],
            "symfony/framework-bundle": [
                release("symfony/framework-bundle", v) for v in ("v7.0.3", "v6.4.4", "v6.4.3")
            ],
            "symfony/runtime": [release("symfony/runtime", v) for v in ("v6.4.3",)],
            "phpunit/phpunit": [release("phpunit/phpunit", v) for v in ("11.0.1", "10.5.9")],
        },
    )
    serve_distribution_api(server, ["9.0.0", "8.2.0", "8.1.7", "8.1.6", "8.1.5"])
    modules = serve_json(
        server,
        "/prestashop-modules.json",
        modules_index(
            {"ps_facetedsearch": ["3.16.1", "3.14.1"], "ps_emailsubscription": ["2.7.0"]}
        ),
    )
    presta_advisories = serve_json(
        server,
        "/prestashop-advisories.json",
        [
            presta_advisory(
                "ps_facetedsearch",
                "<3.15.0",
                cve="CVE-2099-0003",
                severity="high",
                title="Faceted search - demo SQL injection",
            )
        ],
    )
    npm = serve_npm_registry(
        server,
        packuments={
            "react": packument("react", ["18.2.0", "18.3.1", "19.0.0"]),
            "react-dom": packument("react-dom", ["18.2.0", "18.3.1", "19.0.0"]),
            "axios": packument("axios", ["1.6.0", "1.6.8", "1.7.9"]),
            "vite": packument("vite", ["5.0.12", "5.4.11", "6.0.3"]),
        },
        advisories={
            "axios": [
                bulk_advisory(
                    1097679, ">=1.3.2 <=1.7.3", title="Server-Side Request Forgery in axios (demo)"
                )
            ]
        },
    )
    return {
        "composer": {"repositories": [{"url": composer}]},
        "prestashop": {"url": server.url, "modules": modules, "advisories": presta_advisories},
        "npm": {"url": npm},
    }
