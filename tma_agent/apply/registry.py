"""Step types by name (`tma_register_steps`) and playbooks by name, from where they live.

Playbooks are searched in order: the agency's `apply.playbook_dirs`, then the directories the
plugins ship (`tma_playbook_dirs`), then the agent's own `playbooks/`. The first playbook of a
name wins; `tma playbook list` shows each one's origin and what it hides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from tma_agent.apply._types import PlaybookError, StepInfo
from tma_agent.apply.playbook import Playbook, load_playbook
from tma_agent.errors import ConfigError

if TYPE_CHECKING:
    import pluggy

    from tma_agent.apply.settings import ApplySettings

__all__ = [
    "PlaybookEntry",
    "builtin_playbook_dir",
    "find_playbooks",
    "playbook_by_name",
    "registered_steps",
]


def registered_steps(pm: pluggy.PluginManager) -> dict[str, StepInfo]:
    steps: dict[str, StepInfo] = {}

    def register(info: StepInfo) -> None:
        if info.name in steps:
            raise ConfigError(f"two plugins register the step {info.name!r}")
        steps[info.name] = info

    pm.hook.tma_register_steps(register=register)
    return steps


def builtin_playbook_dir() -> Path:
    """The agent's own playbooks: shipped in the wheel as `tma_agent/playbooks`, or the
    checkout's top-level `playbooks/` in a development install."""
    package = Path(__file__).resolve().parent.parent
    shipped = package / "playbooks"
    return shipped if shipped.is_dir() else package.parent / "playbooks"


@dataclass(frozen=True)
class PlaybookEntry:
    name: str
    path: Path
    #: `config`, `plugin <name>` or `tma-agent`.
    origin: str
    playbook: Playbook | None
    #: Why the playbook cannot run (a `file:line` error), when it cannot.
    error: str | None = None
    #: Paths of playbooks of the same name that this one hides.
    hides: tuple[Path, ...] = ()


def _search_dirs(pm: pluggy.PluginManager, settings: ApplySettings) -> list[tuple[Path, str]]:
    dirs = [(Path(d).expanduser(), "config") for d in settings.playbook_dirs]
    # Each plugin's answer is kept with its name, so `tma playbook list` can say where a
    # playbook comes from (the hook's combined result would not).
    for impl in pm.hook.tma_playbook_dirs.get_hookimpls():
        answer = cast("list[str] | None", impl.function()) or []
        dirs += [(Path(d), f"plugin {impl.plugin_name}") for d in answer]
    dirs.append((builtin_playbook_dir(), "tma-agent"))
    return dirs


def find_playbooks(
    pm: pluggy.PluginManager, settings: ApplySettings, steps: dict[str, StepInfo]
) -> list[PlaybookEntry]:
    """Every playbook found, the first of each name kept (with what it hides)."""
    found: dict[str, PlaybookEntry] = {}
    for directory, origin in _search_dirs(pm, settings):
        if not directory.is_dir():
            if origin == "config":
                raise ConfigError(f"apply.playbook_dirs: {directory} is not a directory")
            continue
        for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
            try:
                playbook: Playbook | None = load_playbook(path, steps)
                error = None
            except PlaybookError as exc:
                playbook, error = None, str(exc)
            name = playbook.name if playbook else path.stem
            if name in found:
                kept = found[name]
                found[name] = PlaybookEntry(
                    kept.name, kept.path, kept.origin, kept.playbook, kept.error,
                    (*kept.hides, path),
                )  # fmt: skip
                continue
            found[name] = PlaybookEntry(name, path, origin, playbook, error)
    return sorted(found.values(), key=lambda e: e.name)


def playbook_by_name(
    name: str, pm: pluggy.PluginManager, settings: ApplySettings, steps: dict[str, StepInfo]
) -> Playbook:
    """The playbook `name` (or a path to a YAML file); PlaybookError when absent or broken."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        return load_playbook(Path(name), steps)
    entries = find_playbooks(pm, settings, steps)
    entry = next((e for e in entries if e.name == name), None)
    if entry is None:
        known = ", ".join(e.name for e in entries) or "none"
        raise PlaybookError(f"no playbook named {name!r} (known: {known})")
    if entry.playbook is None:
        raise PlaybookError(entry.error or f"playbook {name!r} cannot be loaded")
    return entry.playbook
