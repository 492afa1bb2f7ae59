"""security_findings in Dagster: findings table, MLflow counts, one alert per abusive user; and no planted PII stored."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_pyspark import LazyPySparkResource
from mlflow import MlflowClient

from monitor_pipeline.alerts.findings import FindingStore
from monitor_pipeline.definitions import build_definitions
from monitor_pipeline.defs.security.assets import security_findings
from monitor_pipeline.ingest.engines.duckdb import DuckDBEngine
from monitor_pipeline.ingest.request import build_request
from monitor_pipeline.resources.mlflow import MlflowResource
from monitor_pipeline.resources.warehouse import WarehouseResource
from monitor_pipeline.simulate import simulate

pytestmark = pytest.mark.slow


def _resources(cfg: Path) -> dict:
    return {
        "warehouse": WarehouseResource(config_path=str(cfg)),
        "mlflow": MlflowResource(config_path=str(cfg)),
        "pyspark": LazyPySparkResource(spark_config={}),
    }


def _materialize(resources: dict, day: str) -> dg.ExecuteInProcessResult:
    with dg.instance_for_test() as instance:
        return dg.materialize([security_findings], partition_key=day, resources=resources, instance=instance)


@pytest.fixture
def simulated(write_config, tmp_path):
    summary = simulate(tmp_path / "sim", days=2, requests_per_day=2000, seed=5)
    abuse = next(i for i in summary["incidents"] if i["kind"] == "abusive_user")
    cfg = write_config([])
    files = sorted(str(p) for p in (tmp_path / "sim").glob("requests-*.jsonl"))
    DuckDBEngine(tmp_path / "data" / "warehouse.duckdb").ingest(build_request(files, "jsonl"))
    return _resources(cfg), tmp_path / "data", abuse["start"][:10]


def test_abusive_user_is_one_alert_per_rule_and_findings_are_stored(simulated):
    resources, data, day = simulated
    result = _materialize(resources, day)
    meta = result.asset_materializations_for_node("security_findings")[0].metadata
    by_rule = meta["findings_by_rule"].value
    assert by_rule["prompt_injection"] > 100 and by_rule["secrets_in_text"] > 10 and by_rule["user_request_rate"] == 1
    assert "| prompt_injection | injection | warning |" in meta["by_rule"].value
    alerts = FindingStore(data / "findings.db").of("security_findings", day)
    keys = [a.key for a in alerts]
    assert len(keys) == len(set(keys))  # one alert per rule and scope value, not one per request
    assert {
        "security.prompt_injection:user-9999",
        "security.secrets_in_text:user-9999",
        "security.user_request_rate:user-9999",
    } <= set(keys)
    # The IP rule is info (shared IPs): found and stored in the table, but not an alert of its own.
    assert by_rule["ip_request_rate"] == 1 and {a.entity for a in alerts} == {"user-9999"}
    inj = next(a for a in alerts if a.key == "security.prompt_injection:user-9999")
    assert inj.detail["requests"] == by_rule["prompt_injection"] and inj.severity == "warning"
    assert "@example.com" not in json.dumps([a.detail for a in alerts])
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    stored = con.execute(
        "SELECT count(*) FROM security_findings WHERE partition_date = ?", [dt.date.fromisoformat(day)]
    ).fetchone()[0]
    con.close()
    assert stored == meta["dagster/row_count"].value
    # In the Dagster catalog as a table: its name and the columns DuckDB stored.
    assert meta["dagster/table_name"].value.endswith(".main.security_findings")
    columns = [c.name for c in meta["dagster/column_schema"].schema.columns]
    assert {"rule", "scope_value", "evidence", "partition_date"} <= set(columns)
    run = MlflowClient(tracking_uri=f"sqlite:///{data / 'mlflow.db'}").get_run(meta["mlflow_run_id"].value)
    assert run.data.metrics["findings.prompt_injection"] == by_rule["prompt_injection"]
    again = _materialize(resources, day)  # a re-run replaces the partition: no duplicates anywhere
    assert again.success
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM security_findings").fetchone()[0] == stored
    con.close()
    assert sorted(a.key for a in FindingStore(data / "findings.db").of("security_findings", day)) == sorted(keys)


# --- redaction before anything is stored ---------------------------------------------------------------------------
SECRETS = {
    "email": "planted.victim@example.org",
    "card": "4539 1488 0343 6467",
    "iban": "GB82 WEST 1234 5698 7654 32",
    "ssn": "536-22-1234",
    "aws": "AKIAQWERTYUIOPASDFGH",
    "openai": "sk-proj-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0EdCbA",
    "github": "ghp_" + "Ab3De6Gh9Jk2Mn5Pq8St1Vw4Yz7Bc0Ef3Hi6",
    "pem": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
}


def _line(ts: dt.datetime, rid: str, prompt: str, completion: str = "ok", **extra) -> str:
    return json.dumps(
        {
            "timestamp": ts.isoformat(),
            "request_id": rid,
            "user_id": f"user-{int(rid[1:]) % 7}",
            "client_ip": "10.1.2.3",
            "model": "m1",
            "input_tokens": 100 + int(rid[1:]) % 50,
            "output_tokens": 20,
            "ttft_ms": 40.0 + int(rid[1:]) % 30,
            "latency_ms": 300.0 + int(rid[1:]) % 90,
            "status": "ok",
            "prompt": prompt,
            "completion": completion,
            **extra,
        }
    )


def _write_day(path: Path, day: dt.date, planted: bool) -> None:
    t0 = dt.datetime.combine(day, dt.time(), dt.UTC)
    lines = [
        _line(t0 + dt.timedelta(seconds=60 * i), f"r{i}{day:%d}", f"Summarise ticket {i % 13} about a refund")
        for i in range(300)
    ]
    if planted:
        s = SECRETS
        lines += [
            _line(t0 + dt.timedelta(hours=5), "p1", f"mail {s['email']} card {s['card']}", f"IBAN {s['iban']}"),
            _line(t0 + dt.timedelta(hours=5, seconds=1), "p2", f"keys {s['aws']} {s['openai']}", f"use {s['github']}"),
            _line(
                t0 + dt.timedelta(hours=5, seconds=2),
                "p3",
                f"-----BEGIN PRIVATE KEY-----\n{s['pem']}\n-----END PRIVATE KEY-----",
                f"SSN {s['ssn']}",
            ),
            _line(t0 + dt.timedelta(hours=5, seconds=3), "p1", f"duplicate id, again {s['email']}"),
            _line(t0 + dt.timedelta(hours=5, seconds=4), "p5", "bad tokens", input_tokens=s["aws"]),
            _line(t0 + dt.timedelta(hours=5, seconds=5), "p6", f"cut off {s['openai']} {s['card']}")[:-30],
        ]
    path.write_text("\n".join(lines) + "\n")


def _needles() -> list[str]:
    out = []
    for v in SECRETS.values():
        out += [v, v.replace(" ", "")]
    return out


def test_planted_pii_and_secrets_are_stored_nowhere(write_config, tmp_path):
    day = dt.date(2026, 11, 20)
    logs = tmp_path / "logs"
    logs.mkdir()
    for d, planted in ((day - dt.timedelta(days=1), False), (day, True)):
        _write_day(logs / f"requests-{d}.jsonl", d, planted)
    cfg = write_config(
        [{"name": "gw", "paths": [str(logs / "requests-{date}.jsonl")], "format": "jsonl"}],
        drift={"reference_days": 1, "min_rows": 50},
    )
    defs = build_definitions(str(cfg))
    with dg.instance_for_test() as instance:
        job = defs.resolve_job_def("ingestion_job")
        for d in (day - dt.timedelta(days=1), day):
            assert job.execute_in_process(partition_key=d.isoformat(), instance=instance).success
    result = _materialize(_resources(cfg), day.isoformat())
    by_rule = result.asset_materializations_for_node("security_findings")[0].metadata["findings_by_rule"].value
    assert (
        by_rule["pii_in_text"] == 2 and by_rule["secrets_in_text"] == 2
    )  # p1, p3 / p2, p3: found through placeholders
    data = tmp_path / "data"
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM quarantine WHERE raw LIKE '%<API_KEY>%'").fetchone()[0] >= 2
    leaks = []
    for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
        cols = [
            c
            for c, t in con.execute(
                f"SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '{table}'"
            ).fetchall()
            if t == "VARCHAR"
        ]
        for c in cols:
            for n in _needles():
                if con.execute(f'SELECT count(*) FROM "{table}" WHERE strpos("{c}", ?) > 0', [n]).fetchone()[0]:
                    leaks.append(f"{table}.{c}: {n}")
    con.close()
    files = [p for p in data.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in files) and any("mlartifacts" in str(p) for p in files)
    for p in files:
        blob = p.read_bytes()
        leaks += [f"{p}: {n}" for n in _needles() if n.encode() in blob]
    assert not leaks, leaks


def test_without_redaction_the_same_check_finds_the_plants(write_config, tmp_path):
    day = dt.date(2026, 11, 20)
    _write_day(tmp_path / "requests.jsonl", day, planted=True)
    cfg = write_config([], security={"redact": False})
    data = tmp_path / "data"
    DuckDBEngine(data / "warehouse.duckdb").ingest(
        build_request([str(tmp_path / "requests.jsonl")], "jsonl", redact=False)
    )
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    found = con.execute("SELECT count(*) FROM requests WHERE strpos(prompt, ?) > 0", [SECRETS["email"]]).fetchone()[0]
    con.close()
    assert found == 1
    result = _materialize(_resources(cfg), day.isoformat())
    by_rule = result.asset_materializations_for_node("security_findings")[0].metadata["findings_by_rule"].value
    assert by_rule["pii_in_text"] >= 2 and by_rule["secrets_in_text"] >= 2  # detected on raw text too
    blob = json.dumps([a.detail for a in FindingStore(data / "findings.db").of("security_findings")])
    assert not any(n in blob for n in _needles())  # evidence is redacted even when stored text is not
