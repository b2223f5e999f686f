"""The team's workload plan (`tma plan`): open requests assigned to people by skill, priority
and SLA deadline with CP-SAT, over the working days of the next weeks (docs/planning.md).

Only `settings` is imported by the configuration; `build` (SQLAlchemy, OR-Tools) is imported
by the command itself, so loading a config never pulls the solver in.
"""

from __future__ import annotations

__all__: list[str] = []
