"""The assignment as a CP-SAT optimisation (OR-Tools), solved lexicographically in three
phases, each keeping what the previous one reached (docs/planning.md, "Objective"):

1. SLA misses (weighted by priority), then lateness in working days, then requests left out;
2. quarter hours planned into the reserve (overload), then the balance: the highest share of
   their capacity any one person gets;
3. work done early, weighted by priority (urgent work first, no gaps).

A request goes to one person (never split between people) but may be spread over days. The
solver starts from an earliest-deadline-first plan, which is also the answer if it finds
nothing better in its time.
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
#: Past this many day variables, presolving alone can take a phase's whole share (measured
#: with bench/plan.py): the solver then works on the model as built, from the first plan.
_PRESOLVE_MAX_VARIABLES = 8_000

#: job index -> (person index, {day index: quarter hours}); jobs left out are absent.
Assignment = dict[int, tuple[int, dict[int, int]]]


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

    @property
    def weight(self) -> int:
        return PRIORITY_WEIGHT.get(self.priority, 1)


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
        self.out: dict[int, cp_model.IntVar] = {}
        self.works: dict[tuple[int, int], cp_model.IntVar] = {}
        self.late: dict[int, cp_model.IntVar] = {}
        self.miss: dict[int, cp_model.IntVar] = {}
        self.over: dict[tuple[int, int], cp_model.IntVar] = {}
        #: The x and works variables of each job, for hints.
        self.x_of: dict[int, list[tuple[int, int, cp_model.IntVar]]] = {}
        self.works_of: dict[int, list[tuple[int, cp_model.IntVar]]] = {}
        by_person_day: dict[tuple[int, int], list[cp_model.IntVar]] = {}
        early = []
        for j, job in enumerate(jobs):
            out = self.out[j] = m.new_bool_var(f"out{j}")
            per_day: dict[int, list[cp_model.IntVar]] = {}
            for p in job.eligible:
                a = self.a[j, p] = m.new_bool_var(f"a{j}_{p}")
                xs = []
                for k in range(days):
                    cap = min(job.units, people[p].full[k])
                    if cap > 0:
                        x = self.x[j, p, k] = m.new_int_var(0, cap, f"x{j}_{p}_{k}")
                        self.x_of.setdefault(j, []).append((p, k, x))
                        xs.append(x)
                        per_day.setdefault(k, []).append(x)
                        by_person_day.setdefault((p, k), []).append(x)
                        early.append(job.weight * k * x)
                # All of the request with the one person chosen, none with the others.
                m.add(sum(xs) == job.units * a)
            m.add_exactly_one([out, *(self.a[j, p] for p in job.eligible)])
            bound = self.late_bound(job)
            if bound == 0:
                continue  # due after the horizon: it cannot be late within it
            late = self.late[j] = m.new_int_var(0, bound, f"late{j}")
            miss = self.miss[j] = m.new_bool_var(f"miss{j}")
            m.add(late >= bound * out)  # left out: done after the horizon at best
            m.add_implication(out, miss)
            for k, xs in per_day.items():
                if k > job.deadline:
                    works = self.works[j, k] = m.new_bool_var(f"w{j}_{k}")
                    self.works_of.setdefault(j, []).append((k, works))
                    m.add(sum(xs) <= job.units * works)
                    m.add(late >= (k - job.deadline) * works)
                    m.add_implication(works, miss)
        for (p, k), xs in by_person_day.items():
            person = people[p]
            m.add(sum(xs) <= person.full[k])
            if person.full[k] > person.net[k]:
                o = self.over[p, k] = m.new_int_var(0, person.full[k] - person.net[k], f"o{p}_{k}")
                m.add(o >= sum(xs) - person.net[k])
        self.balance = m.new_int_var(0, 10_000, "balance")
        for p, person in enumerate(people):
            total = [x for k in range(days) for x in by_person_day.get((p, k), [])]
            if total and sum(person.net):
                m.add(100 * sum(total) <= self.balance * sum(person.net))
        weight_of = {j: job.weight for j, job in enumerate(jobs)}
        lateness = sum(weight_of[j] * v for j, v in self.late.items())
        left_out = sum(weight_of[j] * v for j, v in self.out.items())
        misses = sum(weight_of[j] * v for j, v in self.miss.items())
        worst = sum(job.weight * (self.late_bound(job) + 1) for job in jobs)
        self.phases = [
            (worst + 1) * misses + lateness + left_out,
            10_001 * sum(self.over.values()) + self.balance,
            sum(early),
        ]

    def late_bound(self, job: Job) -> int:
        """Working days late a request done just after the horizon would be."""
        return max(0, self.days - job.deadline)

    def hint(self, plan: Assignment) -> None:
        """Every variable's value in `plan`, so the solver starts from a complete plan."""
        m = self.model
        m.clear_hints()  # type: ignore[no-untyped-call]  # (untyped in OR-Tools)
        used: dict[tuple[int, int], int] = {}
        for j, job in enumerate(self.jobs):
            person, per_day = plan.get(j, (None, {}))
            m.add_hint(self.out[j], person is None)
            for p in job.eligible:
                m.add_hint(self.a[j, p], p == person)
            for p, k, x in self.x_of.get(j, []):
                units = per_day.get(k, 0) if p == person else 0
                m.add_hint(x, units)
                used[p, k] = used.get((p, k), 0) + units
            late = max([k - job.deadline for k in per_day if k > job.deadline], default=0)
            if person is None:
                late = self.late_bound(job)
            if j in self.late:
                m.add_hint(self.late[j], late)
                m.add_hint(self.miss[j], late > 0)
            for k, works in self.works_of.get(j, []):
                m.add_hint(works, k in per_day)
        for (p, k), o in self.over.items():
            m.add_hint(o, max(0, used.get((p, k), 0) - self.people[p].net[k]))
        shares = [
            -(-100 * sum(u for (pp, _), u in used.items() if pp == p) // sum(person.net))
            for p, person in enumerate(self.people)
            if sum(person.net)
        ]
        m.add_hint(self.balance, max(shares, default=0))


def solve(
    jobs: Sequence[Job], people: Sequence[Person], days: int, settings: SolverSettings
) -> Solution:
    solution = Solution()
    started = time.monotonic()
    if not jobs or days == 0:
        solution.status = "nothing to solve"
        return solution
    built = _Model(jobs, people, days)
    plan = _earliest_deadline_first(jobs, people)
    solution.assigned = _keyed(jobs, plan)
    statuses = []
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = settings.workers
    solver.parameters.random_seed = settings.seed
    solver.parameters.cp_model_presolve = len(built.x) <= _PRESOLVE_MAX_VARIABLES
    for share, objective in zip(_PHASE_SHARES, built.phases, strict=True):
        built.hint(plan)
        # Two limits, whichever comes first: the deterministic one gives one worker the same
        # answer on every run; the wall-clock one bounds the wait on a busy machine.
        budget = settings.time_limit_seconds * share
        solver.parameters.max_deterministic_time = budget
        solver.parameters.max_time_in_seconds = budget
        built.model.minimize(objective)
        status = solver.solve(built.model)
        statuses.append(solver.status_name(status).lower())
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break  # the plan of the previous phase (or the first plan) stands
        value = round(solver.objective_value)
        solution.objectives.append(value)
        plan = _read(built, solver)
        solution.assigned = _keyed(jobs, plan)
        built.model.add(objective <= value)  # the next phases keep what this one reached
    solution.status = "/".join(statuses)
    solution.seconds = time.monotonic() - started
    return solution


def _earliest_deadline_first(jobs: Sequence[Job], people: Sequence[Person]) -> Assignment:
    """By deadline then priority, each request to the skilled person who would finish it
    first within their normal capacity; what fits nowhere is left out."""
    free = [list(person.net) for person in people]
    plan: Assignment = {}
    for j in sorted(range(len(jobs)), key=lambda j: (jobs[j].deadline, -jobs[j].weight, j)):
        job = jobs[j]
        best: tuple[int, int, dict[int, int]] | None = None
        for p in job.eligible:
            left, taken = job.units, {}
            for k, room in enumerate(free[p]):
                if left == 0:
                    break
                if room > 0:
                    taken[k] = min(room, left)
                    left -= taken[k]
            if left == 0 and (best is None or max(taken) < best[0]):
                best = (max(taken), p, taken)
        if best is not None:
            _, p, taken = best
            plan[j] = (p, taken)
            for k, units in taken.items():
                free[p][k] -= units
    return plan


def _read(built: _Model, solver: cp_model.CpSolver) -> Assignment:
    plan: Assignment = {}
    for (j, p), a in built.a.items():
        if solver.value(a):
            plan[j] = (p, {})
    for (j, p, k), x in built.x.items():
        units = int(solver.value(x))
        if units and j in plan and plan[j][0] == p:
            plan[j][1][k] = units
    return plan


def _keyed(jobs: Sequence[Job], plan: Assignment) -> Assignment:
    return {jobs[j].key: value for j, value in plan.items()}
