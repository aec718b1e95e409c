#!/usr/bin/env python3
"""Writes deploy/grafana/dashboards/rto.json, the Grafana dashboard of an rto run.

Every metric the panels name is one the services export (tests/integration/launch_test.sh checks
the names against a live scrape), and every panel's query returns data from a real Prometheus
scraping a real compose run (scripts/compose_test.sh).
Usage: scripts/make_grafana_dashboard.py
"""
import json
import pathlib

ROLES = ["coordinator", "learner", "critic", "scorer", "rollout"]
STAGES = ["generate", "score", "policy_logprobs", "values", "train_policy", "train_critic"]


def role_panel(role):
    """A role's servers: p99 latency by method (left axis, s), errors per second by method
    (right axis; 0 for a method without errors rather than no data) and, for the roles whose
    actor has one (not the coordinator, which answers in its handlers), mailbox depth (right)."""
    requests = f"rto_{role}_requests_total"
    queries = [
        (f"histogram_quantile(0.99, sum by (le, method) (rate(rto_{role}_request_seconds_bucket[1m])))",
         "p99 {{method}}"),
        (f'sum by (method) (rate({requests}{{code!="OK"}}[1m])) or sum by (method) (rate({requests}[1m])) * 0',
         "errors/s {{method}}")]
    if role == "coordinator":
        return (f"{role}: p99 latency, errors/s", "s", queries, ["errors/s"])
    return (f"{role}: p99 latency, errors/s, mailbox depth", "s",
            queries + [(f"max by (instance) (rto_{role}_mailbox_depth)", "mailbox depth {{instance}}")],
            ["errors/s", "mailbox depth"])


# (title, unit, [(PromQL, legend), ...], [legend prefixes drawn on the right axis, in "short"])
ROWS = [
    # The run's learning curves (metrics.jsonl's keys as the coordinator's gauges).
    ("Reward model score (train batch, eval)", "none", [
        ("rto_coordinator_reward_rm_score", "train"), ("rto_coordinator_eval_rm_score", "eval")], []),
    ("DPO token reward: per response and per token", "none", [
        ("rto_coordinator_reward_dpo_sequence", "per response"),
        ("rto_coordinator_reward_dpo_token_mean", "per token")], []),
    ("KL to the reference and its coefficient", "none", [
        ("rto_coordinator_kl_ref", "KL per response"), ("rto_coordinator_kl_coef", "coefficient")], []),
    ("Policy: entropy, clip fraction, approx KL", "none", [
        ("rto_coordinator_policy_entropy", "entropy"), ("rto_coordinator_ppo_clip_frac", "clip fraction"),
        ("rto_coordinator_ppo_approx_kl", "approx KL")], []),
    ("Critic: value loss, explained variance", "none", [
        ("rto_coordinator_critic_value_loss", "value loss"),
        ("rto_coordinator_critic_explained_variance", "explained variance")], []),
    ("Response length and share stopped", "none", [
        ("rto_coordinator_response_length", "tokens"),
        ("rto_coordinator_response_stopped_frac", "stopped (share)")], ["stopped"]),
    # Where a step's time goes.
    ("Step time by stage", "s", [(f"rto_coordinator_time_{stage}_s", stage) for stage in
                                 ["step", "generate_wait"] + STAGES + ["weight_sync"]], []),
    ("Throughput per stage (tokens/s)", "short", [
        (f"rto_coordinator_throughput_{stage}_tokens_per_s", stage) for stage in STAGES], []),
    ("Tokens generated per second", "short", [
        ("sum(rate(rto_rollout_generated_tokens_total[1m]))", "all workers"),
        ("rate(rto_rollout_generated_tokens_total[1m])", "{{instance}}")], []),
    # The weight broadcast.
    ("Weight broadcast: seconds per broadcast, bytes per second", "s", [
        ("rate(rto_learner_weight_sync_seconds_sum[5m]) / rate(rto_learner_weight_sync_seconds_count[5m])",
         "seconds per broadcast (learner)"),
        ("rate(rto_rollout_weight_sync_seconds_sum[5m]) / rate(rto_rollout_weight_sync_seconds_count[5m])",
         "seconds per broadcast {{instance}}"),
        ("rate(rto_learner_weight_sync_bytes_total[5m])", "bytes/s sent"),
        ("sum(rate(rto_rollout_weight_sync_bytes_total[5m]))", "bytes/s received")], ["bytes/s"]),
    ("Policy version: learner and rollout workers", "short", [
        ("rto_learner_policy_version", "learner"), ("rto_rollout_policy_version", "{{instance}}"),
        ("rto_coordinator_rollout_staleness", "staleness of the batch")], []),
    # Recoveries (README, Reliability) and liveness.
    ("Steps, recoveries from lost workers, heartbeats", "short", [
        ("rto_coordinator_steps_total", "steps"),
        ("sum by (role) (rto_coordinator_recoveries_total)", "recoveries {{role}}"),
        ('sum(rate(rto_coordinator_requests_total{method="Heartbeat"}[1m]))', "heartbeats/s")], []),
    ("Recovery time (mean over 10m)", "s", [
        ("rate(rto_coordinator_recovery_seconds_sum[10m]) / rate(rto_coordinator_recovery_seconds_count[10m])",
         "seconds")], []),
    ("Requests per second by service, method and code", "reqps", [
        ('sum by (service, method, code) (rate({__name__=~"rto_.+_requests_total"}[1m]))',
         "{{service}} {{method}} {{code}}")], []),
] + [role_panel(role) for role in ROLES]


def panel(i, title, unit, targets, right_axis):
    overrides = [{"matcher": {"id": "byRegexp", "options": f"^{prefix}.*"},
                  "properties": [{"id": "custom.axisPlacement", "value": "right"}, {"id": "unit", "value": "short"}]}
                 for prefix in right_axis]
    return {
        "id": i + 1,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "prometheus"},
        "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": overrides},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [{"refId": chr(ord("A") + j), "expr": expr, "legendFormat": legend,
                     "datasource": {"type": "prometheus", "uid": "prometheus"}}
                    for j, (expr, legend) in enumerate(targets)],
    }


dashboard = {
    "uid": "rto-run",
    "title": "rto: RLHF run",
    "tags": ["rto"],
    "timezone": "browser",
    "schemaVersion": 39,
    "version": 1,
    "refresh": "10s",
    "time": {"from": "now-1h", "to": "now"},
    "panels": [panel(i, *row) for i, row in enumerate(ROWS)],
}
out = pathlib.Path(__file__).resolve().parent.parent / "deploy/grafana/dashboards/rto.json"
out.write_text(json.dumps(dashboard, indent=2) + "\n")
print(f"wrote {out}")
