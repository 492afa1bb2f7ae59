"""Regenerate the small sample logs in assets/sample_logs (deterministic): python assets/sample_logs/generate.py"""
import datetime as dt
import json
import math
import random

random.seed(7)
day = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
out = "assets/sample_logs/"
with open(out + "online.log", "w") as f:
    for m in range(0, 24 * 60, 2):
        t = day + dt.timedelta(minutes=m, seconds=random.randint(0, 59))
        load = 40 + 30 * math.sin((m / 60 - 9) / 24 * 2 * math.pi)
        n = max(0, int(random.gauss(load, 5)))
        acc = min(1.0, max(0.0, random.gauss(0.92, 0.02)))
        f.write(f"{t:%Y-%m-%d %H:%M:%S} {n} {acc:.4f}\n")
with open(out + "offline.log", "w") as f:
    for h in range(24):
        t = day + dt.timedelta(hours=h, minutes=random.randint(0, 10))
        bs = random.choice([8, 16, 32, 64])
        f.write(f"{t:%Y-%m-%d %H:%M:%S} {bs} {bs * random.randint(80, 160)}\n")
models = ["llama-3.1-8b-instruct", "qwen2.5-14b-instruct", "mistral-7b-instruct"]
prompts = ["Summarise this support ticket in two sentences.", "Translate the paragraph to German.",
           "Write a SQL query that counts orders per day.", "Classify the sentiment of this review.",
           "Explain the stack trace below and suggest a fix."]
lines = []
for i in range(2000):
    t = day + dt.timedelta(seconds=i * 43.2 + random.random() * 10)
    inp = int(random.lognormvariate(6.0, 0.8))
    outp = int(random.lognormvariate(5.0, 0.7))
    ttft = 30 + inp * 0.05 + random.expovariate(1 / 20)
    lat = ttft + outp * random.uniform(8, 14)
    err = random.random() < 0.02
    rec = {"timestamp": t.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "request_id": f"req-{i:06d}",
           "model": random.choice(models), "user_id": f"user-{random.randint(1, 60):03d}",
           "client_ip": f"10.1.{random.randint(0, 3)}.{random.randint(2, 250)}", "operation": "chat",
           "input_tokens": inp, "output_tokens": 0 if err else outp, "latency_ms": round(lat, 1),
           "ttft_ms": round(ttft, 1), "status": "error" if err else "ok",
           "error_type": random.choice(["timeout", "rate_limited"]) if err else None,
           "http_status": random.choice([429, 504]) if err else 200, "prompt": random.choice(prompts),
           "batch_size": random.choice([1, 4, 8])}
    lines.append(json.dumps(rec))
# A few OpenTelemetry GenAI-style records: aliases map onto canonical columns.
for j in range(5):
    t = day + dt.timedelta(hours=12, minutes=j)
    lines.insert(1000 + j, json.dumps({"timestamp": t.isoformat().replace("+00:00", "Z"), "gen_ai.response.id": f"otel-{j}",
        "gen_ai.request.model": models[0], "gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 40, "latency_ms": 640.0, "status": "ok"}))
# Bad lines, each quarantined with its reason (see README: the tour of outputs).
lines.insert(100, '{"timestamp": "2026-11-20T00:40:00Z", "request_id": "req-bad-1", "latency_ms": -12}')
lines.insert(200, '{"timestamp": "2026-11-20T01:30:00Z", "request_id": "req-bad-2", "input_tokens": "many"}')
lines.insert(300, '{"timestamp": "not-a-time", "request_id": "req-bad-3"}')
lines.insert(400, '{"timestamp": "2026-11-20T03:00:00Z", "request_id": "req-000010", "model": "mistral-7b-instruct"}')
lines.insert(500, '{"timestamp": "2026-11-20T04:00:00Z", "request_id": "req-bad-5", "model": ')
lines.insert(600, '{"request_id": "req-bad-6", "model": "qwen2.5-14b-instruct"}')
lines.insert(700, '{"timestamp": "2036-11-20T00:00:00Z", "request_id": "req-bad-7"}')
with open(out + "requests.jsonl", "w") as f:
    f.write("\n".join(lines) + "\n")
