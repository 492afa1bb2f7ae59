"""The regular expressions and checksums of the text detectors.

Every pattern is written in the subset that RE2 (DuckDB, pyarrow), Java (Spark RLIKE) and Python `re` read alike:
no look-arounds or back-references, `[0-9]` rather than `\\d`, scoped flags `(?i:...)`, literal Unicode characters.
A pattern finds candidates; a validator (Luhn, mod-97, SSN rules, ...) confirms the few it found.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Pattern:
    """One PII or secret type: its candidate regex, optional validator, placeholder and family."""

    name: str
    regex: str
    placeholder: str
    family: str  # "pii" or "secret"
    validate: Callable[[str], bool] | None = None

    @property
    def compiled(self) -> re.Pattern:
        """The Python regex (for the validated candidates)."""
        return _compile(self.regex)

    def accept(self, m: re.Match) -> bool:
        """Whether a candidate match is a real one: its validator passes and, for a number-like type, it is not
        part of a longer number (the digits after a decimal point, or a value that goes on in the same grouping)."""
        if self.validate is None:
            return True
        if self.name in NUMERIC_TYPES and inside_number(m.string, m.start(), m.end()):
            return False
        return self.validate(m.group())


def inside_number(text: str, start: int, end: int) -> bool:
    """True when text[start:end] is digits inside a longer number: `0.6449479080535836`, `4111 1111 1111 1111 0`,
    `12.3e4111111111111`; a card or phone number stands on its own (start or end of text, space, punctuation)."""
    # Neighbours as one-character strings, " " beyond either end (so `in` tests never meet an empty string).
    before = text[start - 1] if start > 0 else " "
    before2 = text[start - 2] if start > 1 else " "
    after = text[end] if end < len(text) else " "
    after2 = text[end + 1] if end + 1 < len(text) else " "
    if before.isdigit() or after.isdigit():
        return True
    if before == "." and before2.isdigit():  # decimals of a number
        return True
    if after == "." and after2.isdigit():  # the integer part of a decimal number
        return True
    if before in "+-" and before2 in "eE":  # an exponent
        return True
    # The same digit grouping goes on: `1234 5678 9012 3456 7890` is not a 16-digit card followed by text.
    if before in " -" and before2.isdigit() and text[start].isdigit():
        return True
    return after in " -" and after2.isdigit() and text[end - 1].isdigit()


_CACHE: dict[str, re.Pattern] = {}


def _compile(regex: str) -> re.Pattern:
    if regex not in _CACHE:
        _CACHE[regex] = re.compile(regex)
    return _CACHE[regex]


def luhn_ok(number: str) -> bool:
    """True when the digits of `number` pass the Luhn check."""
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        total += (d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 else d
    return len(digits) > 1 and total % 10 == 0


# Issuer prefixes of the card networks (Visa, Mastercard, Amex, Discover, JCB, UnionPay, Diners, Maestro).
_CARD_IIN = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|6011|64[4-9]|65|35|62|30|36|38|39|50|5[6-9]|6[0-9])")


def card_ok(candidate: str) -> bool:
    """A payment card number: 13-19 digits, a known issuer prefix, and the Luhn check."""
    digits = re.sub(r"[^0-9]", "", candidate)
    return 13 <= len(digits) <= 19 and bool(_CARD_IIN.match(digits)) and len(set(digits)) > 1 and luhn_ok(digits)


IBAN_LENGTHS = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BR": 29,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NL": 18,
    "NO": 15,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "SA": 24,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VG": 24,
    "XK": 20,
}


def iban_ok(candidate: str) -> bool:
    """An IBAN: the country's length and the ISO 7064 mod-97 check."""
    s = re.sub(r"\s", "", candidate).upper()
    if IBAN_LENGTHS.get(s[:2]) != len(s):
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def ssn_ok(candidate: str) -> bool:
    """A US SSN in AAA-GG-SSSS form: area not 000/666/9xx, group not 00, serial not 0000, not a famous sample."""
    area, group, serial = candidate.split("-")
    return (
        area not in ("000", "666")
        and not area.startswith("9")
        and group != "00"
        and serial != "0000"
        and candidate not in ("078-05-1120", "219-09-9999", "123-45-6789")
    )


_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def cn_id_ok(candidate: str) -> bool:
    """A PRC resident ID: 18 characters, a real birth date and the ISO 7064 MOD 11-2 check character."""
    s = candidate.upper()
    try:
        born = dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    if not dt.date(1900, 1, 1) <= born <= dt.date.today():
        return False
    total = sum(int(c) * w for c, w in zip(s[:17], _CN_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == s[17]


def phone_ok(candidate: str) -> bool:
    """A phone number: 7 to 15 digits (E.164) that are not all one digit."""
    digits = re.sub(r"[^0-9]", "", candidate)
    return 7 <= len(digits) <= 15 and len(set(digits)) > 1


def ip_ok(candidate: str) -> bool:
    """A routable-looking IPv4/IPv6 address (IPv6 with at least three groups; not 0.x.x.x)."""
    try:
        ip = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    if ip.version == 6:
        return len([g for g in candidate.split(":") if g]) >= 3
    return not candidate.startswith("0.")


_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_H = "[0-9A-Fa-f]{1,4}"
PATTERNS: dict[str, Pattern] = {
    p.name: p
    for p in (
        # Order matters for redaction: a PEM block first (its body may look like anything), then keys, then PII.
        Pattern(
            "private_key",
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*"
            r"PRIVATE KEY(?: BLOCK)?-----|[\s\S]*)",
            "<PRIVATE_KEY>",
            "secret",
        ),
        Pattern(
            "api_key",
            "|".join(
                (
                    r"\bsk-(?:proj-|svcacct-|admin-|ant-(?:api|admin)[0-9]{2}-)?[A-Za-z0-9_-]{20,}",  # OpenAI, Anthropic
                    r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",  # AWS access key id
                    r"(?i:aws_secret_access_key)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+=]{40}",
                    r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b",
                    r"\bgithub_pat_[A-Za-z0-9_]{60,}",  # GitHub
                    r"\bglpat-[A-Za-z0-9_-]{20,}",  # GitLab
                    r"\bxox[abposr]-[A-Za-z0-9-]{10,}",
                    r"https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}",  # Slack
                    r"\bAIza[0-9A-Za-z_-]{35}",  # Google
                    r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}",
                    r"\bwhsec_[0-9A-Za-z]{24,}",  # Stripe
                    r"\bhf_[A-Za-z0-9]{34,}",  # Hugging Face
                    r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",  # SendGrid
                    r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",  # JWT bearer tokens
                )
            ),
            "<API_KEY>",
            "secret",
        ),
        Pattern(
            "email",
            r"[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b",
            "<EMAIL>",
            "pii",
        ),
        Pattern("iban", r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", "<IBAN>", "pii", iban_ok),
        Pattern("credit_card", r"\b[0-9](?:[ -]?[0-9]){12,18}\b", "<CREDIT_CARD>", "pii", card_ok),
        Pattern(
            "national_id",
            r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b|\b[1-9][0-9]{16}[0-9Xx]\b",
            "<NATIONAL_ID>",
            "pii",
            lambda s: ssn_ok(s) if "-" in s else cn_id_ok(s),
        ),
        Pattern(
            "ip_address",
            rf"\b(?:{_OCTET}\.){{3}}{_OCTET}\b|\b(?:{_H}:){{7}}{_H}\b|\b(?:{_H}:){{1,6}}:(?:{_H}(?::{_H}){{0,5}})?",
            "<IP_ADDRESS>",
            "pii",
            ip_ok,
        ),
        Pattern(
            "phone",
            r"\+[1-9][0-9]{0,2}[ .-]?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{1,4}(?:[ .-]?[0-9]{2,4}){1,4}\b"
            r"|\(?\b[2-9][0-9]{2}\)?[ .-][0-9]{3}[ .-][0-9]{4}\b|\b1[3-9][0-9]{9}\b",
            "<PHONE>",
            "pii",
            phone_ok,
        ),
    )
}
PII_TYPES = tuple(n for n, p in PATTERNS.items() if p.family == "pii")
# Types whose matches are digits: a match inside a longer number (a float's decimals) is never one of them.
NUMERIC_TYPES = ("credit_card", "national_id", "phone", "ip_address", "iban")
SECRET_TYPES = tuple(n for n, p in PATTERNS.items() if p.family == "secret")
PLACEHOLDER_RE = "<(" + "|".join(p.placeholder[1:-1] for p in PATTERNS.values()) + ")>"
BY_PLACEHOLDER = {p.placeholder[1:-1]: p.name for p in PATTERNS.values()}

_ROLE = (
    r"(?i:\b(?:you are now|you're now|from now on,? you are|pretend (?:to be|you are|you're)|act as|role-?play as|"
    r"imagine you are|behave like|you will now act as|respond (?:only )?as)\b[^\n]{0,80}?(?:\b(?:unrestricted|"
    r"unfiltered|uncensored|jailbroken|evil|admin(?:istrator)?|root user|superuser|sudo mode|DAN)\b|"
    r"\bwithout (?:any )?(?:restrictions|"
    r"limits|limitations|filters|rules|guidelines|censorship|ethics|morals)|\bno (?:restrictions|limits|limitations|"
    r"filters|rules|guidelines|censorship|ethics|morals)\b|\bnot bound by))"
)
INJECTION: dict[str, str] = {
    "override": (
        r"(?i:\b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}?\b(?:previous|prior|above|earlier|"
        r"preceding|all|any|your|system|initial|original)\b[^.\n]{0,20}?\b(?:instructions?|prompts?|rules|"
        r"directives|guidelines|guardrails|restrictions|programming|safety)\b)"
    ),
    "exfiltration": (
        r"(?i:\b(?:reveal|show|print|repeat|output|display|leak|dump|include|tell me|"
        r"what (?:is|are|was|were))\b[^.\n]{0,30}?\b(?:your|the) (?:system|hidden|initial|secret|original|"
        r"developer) (?:prompt|instructions|message)s?)"
    ),
    "jailbreak": (
        r"\bDAN\b|(?i:\bdo anything now\b|\bjailbreak (?:mode|prompt)|\bjailbroken\b|"
        r"\b(?:enable|activate|enter) (?:the )?developer mode|\bdeveloper mode (?:enabled|activated)|"
        r"\bgod mode (?:enabled|on|activated)|\bno longer bound by)"
    ),
    "roleplay": _ROLE,
    "template_token": r"<\|im_start\|>|<\|system\|>|<\|endoftext\|>|\[/?INST\]|<<SYS>>|(?i:###\s*(?:system|new instructions?):)",
    "invisible_unicode": (
        "[\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]"
        "|[\u200b\u2060-\u2064\ufeff\u180e][^\u200b\u2060-\u2064\ufeff\u180e]{0,200}"
        "[\u200b\u2060-\u2064\ufeff\u180e][^\u200b\u2060-\u2064\ufeff\u180e]{0,200}"
        "[\u200b\u2060-\u2064\ufeff\u180e]"
    ),
    "encoded_payload": r"[A-Za-z0-9+/]{32,}={0,2}|(?:[0-9a-fA-F]{2}){24,}|(?:\\x[0-9a-fA-F]{2}){12,}",
}
DECODE_ASK = (
    r"(?i:\b(?:decode|base64|deobfuscate|translate from (?:base64|hex))\b[^\n]{0,60}?"
    r"\b(?:execute|run|follow|obey|do what))"
)

# Cheap necessary conditions: every match of a detector contains a match of its trigger, and a union of triggers
# stays small enough for RE2's DFA (a union of the full patterns does not, and runs ~50x slower).
_DIGITS = r"[0-9][0-9 .:()/+-]{5,}[0-9]"
TRIGGERS: dict[str, str] = {
    "private_key": "PRIVATE KEY",
    "api_key": (
        r"sk-|sk_|rk_|AKIA|ASIA|ABIA|ACCA|(?i:aws_secret)|gh[pousr]_|github_pat_|glpat-|xox[abposr]-|"
        r"hooks\.slack|AIza|whsec_|hf_|SG\.|eyJ"
    ),
    "email": "@",
    "iban": _DIGITS,
    "credit_card": _DIGITS,
    "national_id": _DIGITS,
    "phone": _DIGITS,
    "ip_address": _DIGITS + r"|::|[0-9a-fA-F]{1,4}:[0-9a-fA-F]{1,4}:",
    "override": "(?i:ignore|disregard|forget|override|bypass)",
    "exfiltration": "(?i:(?:system|hidden|initial|secret|original|developer) (?:prompt|instruction|message))",
    "jailbreak": "DAN|(?i:do anything now|jailbr|developer mode|god mode|bound by)",
    "roleplay": (
        "(?i:you are now|you're now|from now on|pretend|act as|role-?play|imagine you are|behave like|"
        "respond (?:only )?as)"
    ),
    "template_token": r"<\||\[/?INST\]|<<SYS>>|###",
    "invisible_unicode": "[\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f\u200b\u2060-\u2064\ufeff\u180e]",
    "encoded_payload": INJECTION["encoded_payload"],
}
