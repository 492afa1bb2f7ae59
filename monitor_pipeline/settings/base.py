"""The base of every config model: unknown keys are errors, so a typo is named instead of ignored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A config section: pydantic model that forbids keys it does not declare."""

    model_config = ConfigDict(extra="forbid")
