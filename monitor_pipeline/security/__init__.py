"""Security control: rules over request logs (rates, bursts, overload, injection, PII and secrets) and redaction."""
