from __future__ import annotations

import re
from pathlib import Path

from tma_agent._hookdoc import hook_signatures

DOC = (Path(__file__).parent.parent / "docs" / "hooks.md").read_text()


def test_every_hook_is_documented_with_its_exact_signature() -> None:
    signatures = list(hook_signatures())
    assert len(signatures) >= 8
    for name, text, _ in signatures:
        assert f"### `{text}`" in DOC, f"docs/hooks.md lacks the signature of {name}: {text}"


def test_firstresult_hooks_are_marked_in_the_docs() -> None:
    for name, text, firstresult in hook_signatures():
        section = DOC.split(f"### `{text}`", 1)[1].split("###", 1)[0]
        assert ("*firstresult.*" in section) == firstresult, name


def test_docs_name_no_hook_that_does_not_exist() -> None:
    documented = set(re.findall(r"^### `(tma_\w+)\(", DOC, flags=re.M))
    assert documented == {name for name, _, _ in hook_signatures()}
