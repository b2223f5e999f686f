"""Test helpers shipped with tma-agent: real servers and real site trees for plugin tests."""
