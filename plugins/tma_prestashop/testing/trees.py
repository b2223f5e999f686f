"""Build PrestaShop trees in the real layouts, for tests, demos and benches.

Trees follow what a PrestaShop zip leaves on disk: 1.6 keeps its version in
`config/settings.inc.php` (`define('_PS_VERSION_', ...)` behind an `if (!defined(...))`), 1.7,
8 and 9 in `app/AppKernel.php`; every version has `config/defines.inc.php`. A module is
`modules/<name>/<name>.php` (its constructor sets `$this->version`) plus the `config.xml` the
back office generates from it, `index.php` guards in each directory and an `upgrade/` folder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from tma_agent.versions import Version

__all__ = ["DEFAULT_MODULES", "build_prestashop"]

DEFAULT_MODULES: Mapping[str, str] = {"ps_facetedsearch": "3.14.1", "ps_emailsubscription": "2.7.0"}

_GUARD = (
    "<?php\n\nheader('Expires: Mon, 26 Jul 1997 05:00:00 GMT');\n"
    "header('Cache-Control: no-store, no-cache, must-revalidate');\n"
    "header('Location: ../');\nexit;\n"
)

_LICENSE = (
    "/**\n * Copyright since 2007 PrestaShop SA and Contributors\n"
    " * PrestaShop is an International Registered Trademark & Property of PrestaShop SA\n"
    " *\n * NOTICE OF LICENSE\n *\n"
    " * This source file is subject to the Academic Free License version 3.0\n */\n"
)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _is_legacy(core: str) -> bool:
    numbers = Version(core).numbers
    return numbers[0] == 1 and numbers[1:2] < (7,)


def _app_kernel(core: str) -> str:
    numbers = (*Version(core).numbers, 0, 0, 0)
    legacy_line = numbers[0] == 1
    major = f"{numbers[0]}.{numbers[1]}" if legacy_line else str(numbers[0])
    major_int = numbers[0] * 10 + numbers[1] if legacy_line else numbers[0]
    minor, release = (numbers[2], numbers[3]) if legacy_line else (numbers[1], numbers[2])
    # 8.x and later declare visibility on class constants.
    visibility = "" if legacy_line else "public "
    return (
        f"<?php\n{_LICENSE}\nuse Symfony\\Component\\HttpKernel\\Kernel;\n\n"
        "class AppKernel extends Kernel\n{\n"
        f"    {visibility}const VERSION = '{core}';\n"
        f"    {visibility}const MAJOR_VERSION_STRING = '{major}';\n"
        f"    {visibility}const MAJOR_VERSION = {major_int};\n"
        f"    {visibility}const MINOR_VERSION = {minor};\n"
        f"    {visibility}const RELEASE_VERSION = {release};\n\n"
        "    public function registerBundles()\n    {\n        return [];\n    }\n}\n"
    )


def _settings(core: str) -> str:
    return (
        "<?php\ndefine('_DB_SERVER_', 'localhost');\ndefine('_DB_NAME_', 'prestashop');\n"
        "define('_DB_USER_', 'prestashop');\ndefine('_DB_PASSWD_', 'secret');\n"
        "define('_DB_PREFIX_', 'ps_');\ndefine('_MYSQL_ENGINE_', 'InnoDB');\n"
        "define('_PS_CACHING_SYSTEM_', 'CacheMemcache');\ndefine('_PS_CACHE_ENABLED_', '0');\n"
        "define('_COOKIE_KEY_', 'testcookiekey');\ndefine('_COOKIE_IV_', 'testiv');\n"
        "define('_PS_CREATION_DATE_', '2016-02-07');\n"
        "if (!defined('_PS_VERSION_'))\n"
        f"\tdefine('_PS_VERSION_', '{core}');\n"
    )


def _main_file(name: str, version: str | None) -> str:
    class_name = "".join(part.capitalize() for part in name.split("_"))
    version_line = (
        f"        $this->version = '{version}';\n"
        if version is not None
        else "        $this->version = self::VERSION;\n"
    )
    constant = "" if version is not None else "    const VERSION = '0.0.0-build';\n\n"
    return (
        f"<?php\n{_LICENSE}\nif (!defined('_PS_VERSION_')) {{\n    exit;\n}}\n\n"
        f"class {class_name} extends Module\n{{\n{constant}"
        "    public function __construct()\n    {\n"
        f"        $this->name = '{name}';\n"
        "        $this->tab = 'front_office_features';\n"
        "        // $this->version = '0.0.1'; kept from the skeleton, commented out\n"
        f"{version_line}"
        "        $this->author = 'PrestaShop';\n        $this->need_instance = 0;\n"
        "        $this->ps_versions_compliancy = ['min' => '1.7.0.0', 'max' => _PS_VERSION_];\n"
        "        parent::__construct();\n"
        f"        $this->displayName = $this->l('{name} display name');\n"
        "    }\n}\n"
    )


def _config_xml(name: str, version: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" ?>\n<module>\n'
        f"\t<name>{name}</name>\n"
        f"\t<displayName><![CDATA[{name} display name]]></displayName>\n"
        f"\t<version><![CDATA[{version}]]></version>\n"
        "\t<description><![CDATA[A module written by tma_prestashop.testing.]]></description>\n"
        "\t<author><![CDATA[PrestaShop]]></author>\n"
        "\t<tab><![CDATA[front_office_features]]></tab>\n"
        "\t<is_configurable>1</is_configurable>\n\t<need_instance>0</need_instance>\n"
        "\t<limited_countries></limited_countries>\n</module>\n"
    )


def build_prestashop(
    root: str | Path,
    *,
    core: str = "8.1.7",
    modules: Mapping[str, str] = DEFAULT_MODULES,
    custom_modules: Sequence[str] | Mapping[str, str] = ("agency_tweaks",),
    legacy_main_file_only: Sequence[str] = (),
    config_versions: Mapping[str, str] | None = None,
    config_xml: Mapping[str, str] | None = None,
    dynamic_version: Sequence[str] = (),
    stale_settings: str | None = None,
) -> Path:
    """Write a PrestaShop tree at `root` and return it.

    - `core`: a 1.6 version writes the 1.6 layout (settings.inc.php), 1.7+ the AppKernel one;
    - `modules`: name -> version of modules a release source may know;
    - `custom_modules`: agency modules (a list: version 1.0.0; or name -> version);
    - `legacy_main_file_only`: modules written without config.xml;
    - `config_versions`: make config.xml disagree with the main file (a stale cache);
    - `config_xml`: module -> verbatim config.xml text (to write a broken one);
    - `dynamic_version`: modules whose main file sets the version from a class constant;
    - `stale_settings`: on 1.7+, also leave a settings.inc.php with this old `_PS_VERSION_`,
      as a shop upgraded from 1.6 does.
    """
    site = Path(root)
    _write(site / "index.php", "<?php\nrequire dirname(__FILE__).'/config/config.inc.php';\n")
    _write(
        site / "config" / "defines.inc.php",
        "<?php\nif (!defined('_PS_MODE_DEV_')) {\n    define('_PS_MODE_DEV_', false);\n}\n",
    )
    if _is_legacy(core):
        _write(site / "config" / "settings.inc.php", _settings(core))
    else:
        _write(site / "app" / "AppKernel.php", _app_kernel(core))
        _write(
            site / "app" / "config" / "parameters.php",
            "<?php return array (\n  'parameters' => array (\n"
            "    'database_host' => '127.0.0.1',\n    'database_prefix' => 'ps_',\n  ),\n);\n",
        )
        if stale_settings is not None:
            _write(site / "config" / "settings.inc.php", _settings(stale_settings))
    custom = (
        dict(custom_modules)
        if isinstance(custom_modules, Mapping)
        else dict.fromkeys(custom_modules, "1.0.0")
    )
    _write(site / "modules" / "index.php", _GUARD)
    for name, version in {**modules, **custom}.items():
        directory = site / "modules" / name
        main_version = None if name in dynamic_version else version
        _write(directory / f"{name}.php", _main_file(name, main_version))
        _write(directory / "index.php", _GUARD)
        _write(directory / "upgrade" / f"upgrade-{version}.php", "<?php\nfunction upgrade() {}\n")
        if config_xml and name in config_xml:
            _write(directory / "config.xml", config_xml[name])
        elif name not in legacy_main_file_only:
            shown = (config_versions or {}).get(name, version)
            _write(directory / "config.xml", _config_xml(name, shown))
    return site
