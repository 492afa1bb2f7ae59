"""Alerts: config, the alert model, the firing/resolved state machine, the durable outbox and Slack delivery."""
