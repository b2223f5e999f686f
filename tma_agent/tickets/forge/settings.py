"""The `tickets:` keys GitLab and GitHub share: a token, a project, and the two labels people
add to say the client validated or rejected a request (neither forge has workflow statuses).
Each plugin's model adds its URL default, its project syntax and its label limit."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import field_validator, model_validator

from tma_agent.tickets.settings import StatusMap, TicketSettings

__all__ = ["ForgeSettings"]


class ForgeSettings(TicketSettings):
    token: str
    project: str
    validated_label: str
    rejected_label: str

    #: The longest label the forge takes.
    max_label: ClassVar[int] = 255
    #: What `statuses` means without a `statuses:` block, besides the two labels.
    more_rejected: ClassVar[tuple[str, ...]] = ()
    closed_statuses: ClassVar[tuple[str, ...]] = ("closed",)

    @field_validator("labels", "validated_label", "rejected_label")
    @classmethod
    def _labels(cls, value: str | list[str]) -> str | list[str]:
        for label in [value] if isinstance(value, str) else value:
            # A comma would split the label in the comma-separated `labels` parameters.
            if not label.strip() or "," in label or len(label) > cls.max_label:
                raise ValueError(
                    f"{label!r}: a label is 1-{cls.max_label} characters without a comma"
                )
        return value

    @model_validator(mode="after")
    def _statuses(self) -> Self:
        # Renamed labels mean validated/rejected without repeating them in `statuses`.
        statuses = StatusMap(
            validated=self.statuses.validated or [self.validated_label],
            rejected=self.statuses.rejected or [self.rejected_label, *self.more_rejected],
            closed=self.statuses.closed or list(self.closed_statuses),
        )
        if statuses != self.statuses:
            # Frozen model: set once while validating, never after.
            object.__setattr__(self, "statuses", statuses)
        return self
