"""Test helpers shipped with tma-agent: real servers and real site trees for plugin tests.

The core's helpers live here (`feeds`: the local feed server; `sshd`: a real OpenSSH server;
`sites`: check a tree or a fleet with the real runner; `composer_trees` and `composer_answers`:
Composer projects, repositories and advisories; `mariadb`: a throwaway MariaDB server;
`site_settings`: each stack's settings file holding database credentials; `pytest_plugin`:
the fixtures). Each stack's
own are in `tma_<stack>.testing` (`trees`, `feeds`, `answers`...).
"""
