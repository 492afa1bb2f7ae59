"""The rules of configs/rules.yaml as pydantic models; errors name the file, the rule id and the key."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from monitor_pipeline.errors import ConfigError
from monitor_pipeline.security.patterns import INJECTION, PII_TYPES, SECRET_TYPES

Scope = Literal["user", "api_key", "client_ip", "model"]
Severity = Literal["info", "warning", "critical"]
# The requests column each scope groups by (api_key_id: a key's hash or alias, when the logs carry one).
SCOPE_COLUMNS: dict[str, str] = {"user": "user_id", "api_key": "api_key_id", "client_ip": "client_ip", "model": "model"}
InjectionKind = Literal[
    "override", "exfiltration", "jailbreak", "roleplay", "template_token", "invisible_unicode", "encoded_payload"
]
PiiType = Literal["email", "phone", "credit_card", "iban", "national_id", "ip_address"]
SecretType = Literal["api_key", "private_key"]
assert set(get_args(InjectionKind)) == set(INJECTION) and set(get_args(PiiType)) == set(PII_TYPES)
assert set(get_args(SecretType)) == set(SECRET_TYPES)
TextField = Literal["prompt", "completion"]


def _all(kinds) -> list:
    """A default list of every kind (its own copy)."""
    return list(kinds)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Rule(_Strict):
    """What every rule has: id, severity, scope, enabled, exempt values."""

    id: str = Field(pattern=r"^[a-z0-9_.-]+$", description="unique rule id (lower case, digits, _ . -)")
    severity: Severity = "warning"
    scope: Scope = "user"
    enabled: bool = True
    exempt: list[str] = Field(default_factory=list, description="scope values this rule never flags (an allow list)")
    description: str = ""


class RateParams(_Strict):
    """request_rate: more than max_requests in any sliding window of window_s seconds."""

    window_s: int = Field(gt=0, description="sliding window length in seconds")
    max_requests: int = Field(gt=0, description="more requests than this in any window is a finding")


class TokenRateParams(_Strict):
    """token_rate: more than max_tokens (input, output or total) in any sliding window."""

    window_s: int = Field(gt=0)
    max_tokens: int = Field(gt=0, description="more tokens than this in any window is a finding")
    tokens: Literal["input", "output", "total"] = "total"


class BurstParams(_Strict):
    """burst: a bucket far above the scope value's own history (robust z-score on median and MAD)."""

    bucket_s: int = Field(300, gt=0, description="requests are counted per bucket of this many seconds")
    z: float = Field(6.0, gt=0, description="robust z-score (0.6745 (x - median) / MAD) that makes a burst")
    min_requests: int = Field(30, gt=0, description="a bucket below this count is never a burst")
    mad_floor: float = Field(1.0, gt=0, description="lower bound of the MAD (flat histories)")
    min_history: int = Field(12, ge=1, description="users with fewer active buckets are compared to all users")
    history_days: int = Field(7, ge=0, description="days before the partition that form each user's history")
    service_relative: bool = Field(
        True,
        description="discount a bucket by how far the rest of the service is above its typical bucket: a "
        "service-wide surge (a launch, a retry storm) is not a burst of every user",
    )


class ConcurrencyParams(_Strict):
    """concurrency: more than max_in_flight requests open at once."""

    max_in_flight: int = Field(gt=0, description="requests open at once (timestamp .. timestamp + latency)")


class ErrorSpikeParams(_Strict):
    """error_spike: at least min_errors at an error rate of min_error_rate within a window (scanning)."""

    window_s: int = Field(300, gt=0)
    min_errors: int = Field(20, gt=0)
    min_error_rate: float = Field(0.5, gt=0, le=1)


class OversizedParams(_Strict):
    """oversized_input: input tokens or prompt characters above a limit (one finding a request)."""

    max_input_tokens: int | None = Field(None, gt=0)
    max_prompt_chars: int | None = Field(None, gt=0)


class ListParams(_Strict):
    """blocklist / allowlist: exact values, or IPv4 CIDR blocks for client_ip."""

    values: list[str] = Field(min_length=1, description="exact values; IPv4 CIDR blocks for the client_ip scope")

    @field_validator("values")
    @classmethod
    def _cidr(cls, v: list[str]) -> list[str]:
        for x in v:
            if "/" in x:
                try:
                    ipaddress.IPv4Network(x, strict=False)
                except ValueError:
                    raise ValueError(f"{x!r} is not an IPv4 CIDR block like 198.51.100.0/24") from None
        return v


class InjectionParams(_Strict):
    """injection: which indicators to run on which text fields."""

    detectors: list[InjectionKind] = Field(default_factory=lambda: _all(INJECTION), min_length=1)
    fields: list[TextField] = Field(default_factory=lambda: _all(["prompt"]), min_length=1)


class PiiParams(_Strict):
    """pii: which PII types to look for (validated by checksums where one exists)."""

    types: list[PiiType] = Field(default_factory=lambda: _all(PII_TYPES), min_length=1)
    fields: list[TextField] = Field(default_factory=lambda: _all(["prompt", "completion"]), min_length=1)


class SecretParams(_Strict):
    """secret: API keys and tokens of common providers, private keys."""

    types: list[SecretType] = Field(default_factory=lambda: _all(SECRET_TYPES), min_length=1)
    fields: list[TextField] = Field(default_factory=lambda: _all(["prompt", "completion"]), min_length=1)


class InjectionModelParams(_Strict):
    """injection_model: the learned two-stage detector (security.injection_model) over every prompt."""

    threshold: float = Field(0.9, gt=0, lt=1, description="a final probability at or above this is a finding")
    fields: list[TextField] = Field(default_factory=lambda: _all(["prompt"]), min_length=1)
    second_stage: bool | Literal["auto"] = Field(
        "auto", description="send uncertain prompts to the MiniLM stage (auto: only when a GPU is present)"
    )
    uncertain: tuple[float, float] = Field((0.2, 0.9), description="stage-1 probabilities that go to stage 2")
    max_second_stage: int = Field(200, ge=0, description="prompts per scan sent to stage 2 (most uncertain first)")
    model_path: str | None = Field(None, description="a model file other than the one shipped in the package")

    @field_validator("uncertain")
    @classmethod
    def _band(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 <= v[0] < v[1] <= 1:
            raise ValueError(f"uncertain must be [low, high] with 0 <= low < high <= 1, got {list(v)}")
        return v


class RequestRateRule(_Rule):
    """A `request_rate` rule."""

    kind: Literal["request_rate"]
    params: RateParams


class TokenRateRule(_Rule):
    """A `token_rate` rule."""

    kind: Literal["token_rate"]
    params: TokenRateParams


class BurstRule(_Rule):
    """A `burst` rule."""

    kind: Literal["burst"]
    params: BurstParams = BurstParams()


class ConcurrencyRule(_Rule):
    """A `concurrency` rule."""

    kind: Literal["concurrency"]
    params: ConcurrencyParams


class ErrorSpikeRule(_Rule):
    """A `error_spike` rule."""

    kind: Literal["error_spike"]
    params: ErrorSpikeParams = ErrorSpikeParams()


class OversizedRule(_Rule):
    """A `oversized_input` rule."""

    kind: Literal["oversized_input"]
    params: OversizedParams


class BlocklistRule(_Rule):
    """A `blocklist` rule."""

    kind: Literal["blocklist"]
    params: ListParams


class AllowlistRule(_Rule):
    """A `allowlist` rule."""

    kind: Literal["allowlist"]
    params: ListParams


class InjectionRule(_Rule):
    """A `injection` rule."""

    kind: Literal["injection"]
    params: InjectionParams = InjectionParams()


class PiiRule(_Rule):
    """A `pii` rule."""

    kind: Literal["pii"]
    params: PiiParams = PiiParams()


class SecretRule(_Rule):
    """A `secret` rule."""

    kind: Literal["secret"]
    params: SecretParams = SecretParams()


class InjectionModelRule(_Rule):
    """A `injection_model` rule."""

    kind: Literal["injection_model"]
    params: InjectionModelParams = InjectionModelParams()


Rule = Annotated[
    RequestRateRule
    | TokenRateRule
    | BurstRule
    | ConcurrencyRule
    | ErrorSpikeRule
    | OversizedRule
    | BlocklistRule
    | AllowlistRule
    | InjectionRule
    | PiiRule
    | SecretRule
    | InjectionModelRule,
    Field(discriminator="kind"),
]
WINDOW_KINDS = (
    "request_rate",
    "token_rate",
    "burst",
    "concurrency",
    "error_spike",
    "oversized_input",
    "blocklist",
    "allowlist",
)
TEXT_KINDS = ("injection", "pii", "secret")
MODEL_KINDS = ("injection_model",)  # text rules that read every row, not only the regex candidates
_ADAPTER: TypeAdapter = TypeAdapter(Rule)


def _message(where: str, exc: ValidationError) -> str:
    out = []
    for err in exc.errors():
        loc = [str(x) for x in err["loc"]]
        if loc and loc[0] in WINDOW_KINDS + TEXT_KINDS + MODEL_KINDS:  # the union's tag, not a key the user wrote
            loc = loc[1:]
        key = ".".join(loc) or "(rule)"
        if err["type"] == "extra_forbidden":
            out.append(f"{where}: unknown key `{key}`")
        elif err["type"] == "union_tag_invalid":
            out.append(f"{where}: key `kind`: {err['msg']}")
        else:
            got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
            out.append(f"{where}: key `{key}`: {err['msg']}{got}")
    return "; ".join(out)


def parse_rules(data: object, file: str = "rules.yaml") -> list:
    """Validate the parsed YAML of a rules file; errors name the file, rule id and key."""
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ConfigError(f"{file}: the top level must be a mapping with a `rules:` list")
    rules, seen = [], set()
    for i, raw in enumerate(data["rules"]):
        rid = raw.get("id") if isinstance(raw, dict) else None
        where = f"{file}: rule `{rid}`" if rid else f"{file}: rules[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: each rule must be a mapping with id, kind, severity, scope and params")
        try:
            rule = _ADAPTER.validate_python(raw)
        except ValidationError as exc:
            raise ConfigError(_message(where, exc)) from None
        if rule.id in seen:
            raise ConfigError(f"{where}: key `id`: rule ids must be unique, {rule.id!r} is repeated")
        if rule.kind == "oversized_input" and not (rule.params.max_input_tokens or rule.params.max_prompt_chars):
            raise ConfigError(f"{where}: key `params`: set max_input_tokens or max_prompt_chars (or both)")
        if (
            rule.kind in ("blocklist", "allowlist")
            and rule.scope != "client_ip"
            and any("/" in v for v in rule.params.values)
        ):
            raise ConfigError(f"{where}: key `params.values`: CIDR blocks only work with scope client_ip")
        seen.add(rule.id)
        rules.append(rule)
    extra = set(data) - {"rules"}
    if extra:
        raise ConfigError(f"{file}: unknown top-level key `{sorted(extra)[0]}` (allowed: rules)")
    return rules


def load_rules(path: str | Path) -> list:
    """Read and validate a rules YAML file."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{file}: rules file not found (security.rules_file in the pipeline config, or --rules)")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from None
    return parse_rules(data, str(file))
