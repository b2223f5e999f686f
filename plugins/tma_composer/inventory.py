"""List a Composer project's packages: every locked package, direct and transitive, dev ones
flagged, read from the composer.lock detection already fetched (no further round trip).

Each component is named by its Composer package name (`symfony/http-kernel`), kind `package`,
with `extra` = `type`, `dev`, `direct`, `constraint` (composer.json's, for a direct package),
`abandoned` (what the lock says), and `framework` (`symfony`, `laravel`) on the package that
makes the project one. Order: direct packages first, then the others, each by name.
"""

from __future__ import annotations

from tma_agent.context import SiteContext
from tma_agent.ecosystems.composer_site import package_component, read_project
from tma_agent.models import Component
from tma_composer.detect import FRAMEWORKS

__all__ = ["list_components"]


def list_components(site: SiteContext) -> list[Component]:
    project = read_project(site)
    frameworks = {package: name for name, package in FRAMEWORKS.items()}
    components = []
    for package in project.packages:
        component = package_component(package, "package")
        framework = frameworks.get(package.name.lower())
        if framework is not None:
            component.extra["framework"] = framework
        components.append(component)
    components.sort(key=lambda c: (not c.extra["direct"], c.name))
    return components
