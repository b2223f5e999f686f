"""Real-looking settings files holding a site's database credentials, one per stack layout, as
each stack's installer writes them (comments, unrelated computed values and all)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["LAYOUTS", "DatabaseLogin", "php_string", "write_settings"]


@dataclass(frozen=True)
class DatabaseLogin:
    name: str
    user: str
    password: str
    host: str = "127.0.0.1"
    port: int = 3306
    socket: str | None = None


def php_string(value: str) -> str:
    """A single-quoted PHP literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _drupal10(db: DatabaseLogin) -> dict[str, str]:
    return {
        "web/sites/default/settings.php": f"""<?php

// phpcs:ignoreFile

/**
 * @file
 * Drupal site-specific configuration file.
 *
 * Database settings look like this (an example, not the site's):
 * @code
 * $databases['default']['default'] = [
 *   'database' => 'databasename',
 *   'username' => 'sqlusername',
 *   'password' => 'sqlpassword',
 * ];
 * @endcode
 */
$databases = [];

$settings['hash_salt'] = file_get_contents(__DIR__ . '/../../../salt.txt');
$settings['update_free_access'] = FALSE;
$settings['config_sync_directory'] = '../config/sync';
# $settings['file_private_path'] = '';

$databases['default']['default'] = array (
  'database' => {php_string(db.name)},
  'username' => {php_string(db.user)},
  'password' => {php_string(db.password)},
  'prefix' => '',
  'host' => {php_string(db.host)},
  'port' => '{db.port}',
  'isolation_level' => 'READ COMMITTED',
  'driver' => 'mysql',
  'namespace' => 'Drupal\\\\mysql\\\\Driver\\\\Database\\\\mysql',
  'autoload' => 'core/modules/mysql/src/Driver/Database/mysql/',
);

if (file_exists($app_root . '/' . $site_path . '/settings.local.php')) {{
  include $app_root . '/' . $site_path . '/settings.local.php';
}}
""",
    }


def _drupal7(db: DatabaseLogin) -> dict[str, str]:
    socket = f"      'unix_socket' => {php_string(db.socket)},\n" if db.socket else ""
    return {
        "sites/default/settings.php": f"""<?php
/* Drupal 7 settings, written by install.php. */
$databases = array (
  'default' =>
  array (
    'default' =>
    array (
      'database' => {php_string(db.name)},
      'username' => {php_string(db.user)},
      'password' => {php_string(db.password)},
      'host' => 'localhost',
{socket}      'port' => '',
      'driver' => 'mysql',
      'prefix' => array('default' => 'd7_'),
    ),
  ),
);
$update_free_access = FALSE;
$drupal_hash_salt = 'rN0aS7kDpE-4d2tqm3xy';
ini_set('session.gc_maxlifetime', 200000);
""",
    }


def _wordpress(db: DatabaseLogin) -> dict[str, str]:
    return {
        "wp-config.php": f"""<?php
/**
 * The base configuration for WordPress
 *
 * @package WordPress
 */

// ** Database settings - You can get this info from your web host ** //
/** The name of the database for WordPress */
define( 'DB_NAME', {php_string(db.name)} );

/** Database username */
define( 'DB_USER', {php_string(db.user)} );

/** Database password */
define( 'DB_PASSWORD', {php_string(db.password)} );

/** Database hostname */
define( 'DB_HOST', '{db.host}:{db.port}' );

define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );

define( 'AUTH_KEY',         'put your unique phrase here' );
define( 'WP_DEBUG', false );

$table_prefix = 'wp_';

/* That's all, stop editing! Happy publishing. */
if ( ! defined( 'ABSPATH' ) ) {{
	define( 'ABSPATH', __DIR__ . '/' );
}}

require_once ABSPATH . 'wp-settings.php';
""",
    }


def _magento(db: DatabaseLogin) -> dict[str, str]:
    return {
        "app/etc/env.php": f"""<?php
return [
    'backend' => [
        'frontName' => 'admin_1x2y3z'
    ],
    'crypt' => [
        'key' => 'base64Zm9vYmFy'
    ],
    'db' => [
        'table_prefix' => 'mg_',
        'connection' => [
            'default' => [
                'host' => '{db.host}:{db.port}',
                'dbname' => {php_string(db.name)},
                'username' => {php_string(db.user)},
                'password' => {php_string(db.password)},
                'model' => 'mysql4',
                'engine' => 'innodb',
                'initStatements' => 'SET NAMES utf8;',
                'active' => '1',
                'driver_options' => [
                    \\PDO::MYSQL_ATTR_LOCAL_INFILE => 1
                ]
            ]
        ]
    ],
    'resource' => ['default_setup' => ['connection' => 'default']],
    'MAGE_MODE' => 'production',
    'install' => ['date' => 'Tue, 02 Jan 2024 10:00:00 +0000']
];
""",
    }


def _prestashop17(db: DatabaseLogin) -> dict[str, str]:
    return {
        "app/config/parameters.php": f"""<?php return array (
  'parameters' =>
  array (
    'database_host' => {php_string(db.host)},
    'database_port' => '{db.port}',
    'database_name' => {php_string(db.name)},
    'database_user' => {php_string(db.user)},
    'database_password' => {php_string(db.password)},
    'database_prefix' => 'ps_',
    'database_engine' => 'InnoDB',
    'mailer_transport' => 'smtp',
    'secret' => 'Kq3bVdXz0',
    'ps_caching' => 'CacheMemcache',
    'ps_cache_enable' => false,
    'locale' => 'fr-FR',
    'cookie_key' => 'x7B9',
  ),
);
""",
    }


def _prestashop16(db: DatabaseLogin) -> dict[str, str]:
    server = f"localhost:{db.socket}" if db.socket else f"{db.host}:{db.port}"
    return {
        "config/settings.inc.php": f"""<?php
define('_DB_SERVER_', {php_string(server)});
define('_DB_NAME_', {php_string(db.name)});
define('_DB_USER_', {php_string(db.user)});
define('_DB_PASSWD_', {php_string(db.password)});
define('_DB_PREFIX_', 'ps_');
define('_MYSQL_ENGINE_', 'InnoDB');
define('_PS_CACHING_SYSTEM_', 'CacheMemcache');
define('_PS_CACHE_ENABLED_', '0');
define('_COOKIE_KEY_', 'Wq0Xk2');
define('_PS_CREATION_DATE_', '2016-03-01');
define('_PS_VERSION_', '1.6.1.24');
""",
    }


#: layout -> (stack, files builder)
LAYOUTS = {
    "drupal10": ("drupal", _drupal10),
    "drupal7": ("drupal", _drupal7),
    "wordpress": ("wordpress", _wordpress),
    "magento": ("magento", _magento),
    "prestashop17": ("prestashop", _prestashop17),
    "prestashop16": ("prestashop", _prestashop16),
}


def write_settings(root: Path, layout: str, db: DatabaseLogin) -> list[Path]:
    """Write the layout's settings file(s) under `root`; the paths written."""
    written = []
    for relative, text in LAYOUTS[layout][1](db).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
