"""The assignment as a CP-SAT optimisation (OR-Tools), solved lexicographically in three
phases, each keeping what the previous one reached (docs/planning.md, "Objective"):

1. SLA misses (weighted by priority), then lateness in working days and requests left out;
2. quarter hours planned into the reserve (overload), then the balance: the highest share of
   their capacity any one person gets;
3. the finishing day of each request weighted by priority (urgent work first, no gaps).

A request goes to one person (never split between people) but may be spread over days.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from tma_agent.service.planning.settings import SolverSettings

__all__ = ["PRIORITY_WEIGHT", "Job", "Person", "Solution", "solve"]

PRIORITY_WEIGHT = {"urgent": 8, "high": 4, "normal": 2, "low": 1}
#: Shares of the time limit given to each phase (the first matters most).
_PHASE_SHARES = (0.5, 0.25, 0.25)
#: The wall-clock guard over the deterministic limit (only a much slower machine reaches it).
_WALL_FACTOR = 3


@dataclass(frozen=True)
class Person:
    name: str
    #: Quarter hours per working day of the horizon: planned normally, and with the reserve.
    net: tuple[int, ...]
    full: tuple[int, ...]


@dataclass(frozen=True)
class Job:
    key: int
    units: int
    priority: str
    #: Index of the deadline on the horizon's working days (may be < 0 or past the end).
    deadline: int
    #: Indices of the people who have the skill.
    eligible: tuple[int, ...]


@dataclass
class Solution:
    #: job key -> (person index, {day index: units}); jobs left out are absent.
    assigned: dict[int, tuple[int, dict[int, int]]] = field(default_factory=dict)
    status: str = "not solved"
    seconds: float = 0.0
    objectives: list[int] = field(default_factory=list)


class _Model:
    def __init__(self, jobs: Sequence[Job], people: Sequence[Person], days: int) -> None:
        m = self.model = cp_model.CpModel()
        self.jobs, self.people, self.days = jobs, people, days
        self.a: dict[tuple[int, int], cp_model.IntVar] = {}
        self.x: dict[tuple[int, int, int], cp_model.IntVar] = {}
        self.left_out: dict[int, cp_model.IntVar] = {}
        by_person_day: dict[tuple[int, int], list[cp_model.IntVar]] = {}
        misses, lateness, finish = [], [], []
        for j, job in enumerate(jobs):
            weight = PRIORITY_WEIGHT.get(job.priority, 1)
            out = self.left_out[j] = m.new_bool_var(f"out{j}")
            choices = [out]
            per_day: list[list[cp_model.IntVar]] = [[] for _ in range(days)]
            for p in job.eligible:
                a = self.a[j, p] = m.new_bool_var(f"a{j}_{p}")
                choices.append(a)
                xs = []
                for k in range(days):
                    cap = min(job.units, people[p].full[k])
                    if cap > 0:
                        x = self.x[j, p, k] = m.new_int_var(0, cap, f"x{j}_{p}_{k}")
                        xs.append(x)
                        per_day[k].append(x)
                        by_person_day.setdefault((p, k), []).append(x)
                # All of the request with the one person chosen, none with the others.
                m.add(sum(xs) == job.units * a)
            m.add_exactly_one(choices)
            # end: 1 + the last day worked; a request left out ends the day after the horizon.
            end = m.new_int_var(0, days + 1, f"end{j}")
            m.add(end >= (days + 1) * out)
            for k, xs in enumerate(per_day):
                if xs:
                    works = m.new_bool_var(f"w{j}_{k}")
                    m.add(sum(xs) <= job.units * works)
                    m.add(end >= (k + 1) * works)
            bound = max(0, days - job.deadline)
            late = m.new_int_var(0, bound, f"late{j}")
            m.add(late >= end - (job.deadline + 1))
            if bound:
                miss = m.new_bool_var(f"miss{j}")
                m.add(late <= bound * miss)
                misses.append(weight * miss)
            lateness.append(weight * late)
            lateness.append(weight * out)
            finish.append(weight * end)
        over, load = [], []
        for p, person in enumerate(people):
            total = []
            for k in range(days):
                xs = by_person_day.get((p, k), [])
                if not xs:
                    continue
                m.add(sum(xs) <= person.full[k])
                extra = person.full[k] - person.net[k]
                if extra > 0:
                    o = m.new_int_var(0, extra, f"over{p}_{k}")
                    m.add(o >= sum(xs) - person.net[k])
                    over.append(o)
                total.extend(xs)
            load.append((total, sum(person.net)))
        balance = m.new_int_var(0, 10_000, "balance")
        for total, capacity in load:
            if total and capacity:
                m.add(100 * sum(total) <= balance * capacity)
        late_bound = sum(
            PRIORITY_WEIGHT.get(j.priority, 1) * (max(0, days - j.deadline) + 1) for j in jobs
        )
        self.phases = [
            (late_bound + 1) * sum(misses) + sum(lateness),
            10_001 * sum(over) + balance,
            sum(finish),
        ]


def solve(
    jobs: Sequence[Job], people: Sequence[Person], days: int, settings: SolverSettings
) -> Solution:
    solution = Solution()
    started = time.monotonic()
    if not jobs or days == 0:
        solution.status = "nothing to solve"
        return solution
    built = _Model(jobs, people, days)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = settings.workers
    solver.parameters.random_seed = settings.seed
    statuses = []
    for share, objective in zip(_PHASE_SHARES, built.phases, strict=True):
        # Deterministic time keeps one worker's answer the same on every run and machine.
        solver.parameters.max_deterministic_time = settings.time_limit_seconds * share
        solver.parameters.max_time_in_seconds = settings.time_limit_seconds * share * _WALL_FACTOR
        built.model.minimize(objective)
        status = solver.solve(built.model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            statuses.append(solver.status_name(status).lower())
            break
        statuses.append(solver.status_name(status).lower())
        value = int(round(solver.objective_value))
        solution.objectives.append(value)
        _record(solution, built, solver)
        # The next phase keeps this one's result, starting from its plan.
        built.model.add(objective <= value)
        built.model.clear_hints()
        for var in (*built.a.values(), *built.x.values(), *built.left_out.values()):
            built.model.add_hint(var, solver.value(var))
    solution.status = "/".join(statuses)
    solution.seconds = time.monotonic() - started
    return solution


def _record(solution: Solution, built: _Model, solver: cp_model.CpSolver) -> None:
    solution.assigned = {}
    chosen = {j: p for (j, p), a in built.a.items() if solver.value(a)}
    for (j, p, k), x in built.x.items():
        units = int(solver.value(x))
        if units and chosen.get(j) == p:
            key = built.jobs[j].key
            solution.assigned.setdefault(key, (p, {}))[1][k] = units
    for j, p in chosen.items():
        solution.assigned.setdefault(built.jobs[j].key, (p, {}))
