"""Security control: the rules file, redaction, and which findings alert."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from monitor_pipeline.settings.base import Strict
from monitor_pipeline.settings.paths import PROJECT_ROOT, absolute


class SecurityConfig(Strict):
    """Security control: rules over request logs (configs/rules.yaml) and redaction of PII and secrets."""

    redact: bool = Field(
        True,
        description="replace PII and secrets in prompt/completion (and quarantined lines) by "
        "typed placeholders like <EMAIL> before anything is stored",
    )
    rules_file: str | None = Field(
        None,
        description="rules YAML; default: the project's configs/rules.yaml (a relative path is taken from the root)",
    )
    alert_severity: Literal["info", "warning", "critical"] = Field(
        "warning",
        description="findings at or above this severity go to the alert outbox (one per rule and scope value)",
    )

    def rules_path(self, root: Path) -> Path:
        """The rules file: rules_file taken from `root` when relative, else the project's configs/rules.yaml."""
        if self.rules_file is None:
            return PROJECT_ROOT / "configs" / "rules.yaml"
        return absolute(root, self.rules_file)

    def check_rules_file(self, root: Path) -> None:
        """A ValidationError on `security.rules_file` when the file it names is not there (PipelineConfig calls it:
        relative paths need the root, which only the pipeline config knows)."""
        if self.rules_file is None or self.rules_path(root).is_file():
            return
        hint = "" if Path(self.rules_file).expanduser().is_absolute() else f" (a relative path is taken from {root})"
        raise ValidationError.from_exception_data(
            "PipelineConfig",
            [
                InitErrorDetails(
                    type=PydanticCustomError(
                        "file_not_found",
                        "rules file not found: {path}{hint}",
                        {"path": str(self.rules_path(root)), "hint": hint},
                    ),
                    loc=("security", "rules_file"),
                    input=self.rules_file,
                )
            ],
        )
