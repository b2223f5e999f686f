"""What the fake Jira accepts in `fields` on create and edit: the screen's fields, a valid
project and issue type, a summary, ADF descriptions, labels without spaces, known priorities,
estimates like `2h 30m`; anything else is Jira's 400 with `errors: {field: message}`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tma_jira.testing.adf_schema import adf_problems

if TYPE_CHECKING:
    from tma_jira.testing.jira_state import Answer, JiraState

__all__ = ["field_errors"]

_ESTIMATE = re.compile(r"^\s*(\d+\s*[wdhm]\s*)+$")


def field_errors(state: JiraState, fields: Any, creating: bool) -> Answer | None:
    """Jira's 400 for fields it would not take (None: all fine)."""
    if not isinstance(fields, dict):
        return _error(400, "Can not deserialize the request: fields must be an object.")
    errors: dict[str, str] = {}
    for name in fields:
        if name not in state.screen:
            errors[name] = (
                f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            )
    if creating:
        if (fields.get("project") or {}).get("key") != state.project:
            errors["project"] = "valid project is required"
        if (fields.get("issuetype") or {}).get("name") not in state.issue_types:
            errors["issuetype"] = "The issue type selected is invalid."
        if not fields.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
    if "summary" in fields and (
        not isinstance(fields["summary"], str) or len(fields["summary"]) > 255
    ):
        errors["summary"] = "Summary must be less than 255 characters."
    if "description" in fields:
        document = fields["description"]
        if not isinstance(document, dict):
            errors["description"] = (
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            )
        elif problems := adf_problems(document):
            state.rejections.append(problems)
            errors["description"] = "INVALID_INPUT"
    for label in fields.get("labels") or []:
        if not isinstance(label, str) or not label or " " in label or len(label) > 255:
            errors["labels"] = f"The label '{label}' contains spaces which is invalid."
    if "priority" in fields and (fields["priority"] or {}).get("name") not in state.priorities:
        errors["priority"] = "Specify the Priority (name) in the string format"
    estimate = (fields.get("timetracking") or {}).get("originalEstimate")
    if "timetracking" in fields and not (isinstance(estimate, str) and _ESTIMATE.match(estimate)):
        errors["timetracking"] = "The original estimate specified is not valid."
    return _error(400, **errors) if errors else None


def _error(status: int, *messages: str, **errors: str) -> Answer:
    return status, {"errorMessages": list(messages), "errors": errors}
