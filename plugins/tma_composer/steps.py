"""The Composer-project steps: `composer.locked` (composer.lock holds each target version)."""

from __future__ import annotations

from collections.abc import Callable

from tma_agent.apply import StepInfo
from tma_agent.ecosystems.composer_apply import locked_step

__all__ = ["register_steps"]


def register_steps(register: Callable[[StepInfo], None]) -> None:
    register(locked_step("composer"))
