#!/usr/bin/env python3
"""Writes deploy/grafana/dashboards/rto.json, the Grafana dashboard of an rto run.

Panels are (title, unit, [(PromQL, legend), ...]); every metric they name is one the services
export (tests/integration/launch_test.sh checks the names against a live scrape).
Usage: scripts/make_grafana_dashboard.py
"""
import json
import pathlib

ROW = [
    ("Reward model score (train batch, eval)", "none", [
        ("rto_coordinator_reward_rm_score", "train"), ("rto_coordinator_eval_rm_score", "eval")]),
    ("DPO token reward per response", "none", [("rto_coordinator_reward_dpo_sequence", "dpo")]),
    ("KL to the reference and its coefficient", "none", [
        ("rto_coordinator_kl_ref", "KL per response"), ("rto_coordinator_kl_coef", "coefficient")]),
    ("Policy: entropy, clip fraction, approx KL", "none", [
        ("rto_coordinator_policy_entropy", "entropy"), ("rto_coordinator_ppo_clip_frac", "clip fraction"),
        ("rto_coordinator_ppo_approx_kl", "approx KL")]),
    ("Critic: value loss, explained variance", "none", [
        ("rto_coordinator_critic_value_loss", "value loss"),
        ("rto_coordinator_critic_explained_variance", "explained variance")]),
    ("Response length", "none", [("rto_coordinator_response_length", "tokens")]),
    ("Step time by stage", "s", [
        (f"rto_coordinator_time_{stage}_s", stage)
        for stage in ["step", "generate", "generate_wait", "score", "policy_logprobs", "values", "train_policy",
                      "train_critic", "weight_sync"]]),
    ("Tokens generated per second", "short", [
        ("sum(rate(rto_rollout_generated_tokens_total[1m]))", "all workers"),
        ("rate(rto_rollout_generated_tokens_total[1m])", "{{instance}}")]),
    ("Requests per second by method and code", "reqps", [
        ('sum by (__name__, method, code) (rate({__name__=~"rto_.+_requests_total"}[1m]))',
         "{{__name__}} {{method}} {{code}}")]),
    ("Request latency p99 by method", "s", [
        ('histogram_quantile(0.99, sum by (le, method) (rate({__name__=~"rto_.+_request_seconds_bucket"}[5m])))',
         "{{method}}")]),
    ("Mailbox depth", "short", [('{__name__=~"rto_.+_mailbox_depth"}', "{{__name__}} {{instance}}")]),
    ("Weight broadcast: seconds and bytes per second", "short", [
        ("rate(rto_learner_weight_sync_seconds_sum[5m]) / rate(rto_learner_weight_sync_seconds_count[5m])",
         "seconds per broadcast"),
        ("rate(rto_learner_weight_sync_bytes_total[5m])", "bytes/s sent"),
        ("sum(rate(rto_rollout_weight_sync_bytes_total[5m]))", "bytes/s received")]),
    ("Policy version: learner and rollout workers", "short", [
        ("rto_learner_policy_version", "learner"), ("rto_rollout_policy_version", "{{instance}}"),
        ("rto_coordinator_rollout_staleness", "staleness of the batch")]),
    ("Steps, recoveries from lost workers, heartbeats", "short", [
        ("rto_coordinator_steps_total", "steps"), ("sum by (role) (rto_coordinator_recoveries_total)", "recoveries {{role}}"),
        ('sum(rate(rto_coordinator_requests_total{method="Heartbeat"}[1m]))', "heartbeats/s")]),
]


def panel(i, title, unit, targets):
    return {
        "id": i + 1,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "prometheus"},
        "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
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
    "panels": [panel(i, *row) for i, row in enumerate(ROW)],
}
out = pathlib.Path(__file__).resolve().parent.parent / "deploy/grafana/dashboards/rto.json"
out.write_text(json.dumps(dashboard, indent=2) + "\n")
print(f"wrote {out}")
