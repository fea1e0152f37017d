"""docs/configuration.md is generated from the config dataclasses and must be current."""

from __future__ import annotations

from pathlib import Path

from logship import docgen


def test_configuration_reference_is_current() -> None:
    """Regenerate with `python -m logship.docgen` when this fails."""
    target = Path(docgen.__file__).resolve().parents[1] / "docs" / "configuration.md"
    assert target.read_text() == docgen.render()


def test_every_role_is_documented() -> None:
    """Each role's section lists its keys with a default and a doc."""
    text = docgen.render()
    for title in ("Agent", "Collector", "Worker", "Analysis"):
        assert f"## {title}" in text
