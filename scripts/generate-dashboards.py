#!/usr/bin/env python3
"""Writes this project's Grafana dashboards (deploy/grafana/dashboards/*.json) from the panel lists below.

Three dashboards, provisioned by deploy/grafana/provisioning:
- ceems-cluster: the operators' view (job-level aggregates of the recording rules, admin only through the LB);
- ceems-usage: a user's units and usage per project, from ceems_api_server (Infinity datasource);
- ceems-job: one compute unit's CPU, memory, power, emissions and GPU series through ceems_lb.
PromQL uses the series `ceems_tool tsdb create-recording-rules` records; API calls the endpoints of
ceems_api_server. Run after editing; the JSON is committed."""
import json, os

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deploy", "grafana", "dashboards")
PROM = {"type": "prometheus", "uid": "ceems-lb"}
API = {"type": "yesoreyeram-infinity-datasource", "uid": "ceems-api"}


def timeseries(title, targets, unit, x, y, w=12, h=8):
    return {
        "type": "timeseries", "title": title, "datasource": PROM, "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"datasource": PROM, "expr": expr, "legendFormat": legend, "range": True, "refId": chr(65 + i)}
            for i, (expr, legend) in enumerate(targets)
        ],
    }


def stat(title, expr, unit, x, y, w=6, h=4):
    return {
        "type": "stat", "title": title, "datasource": PROM, "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"datasource": PROM, "expr": expr, "instant": True, "range": False, "refId": "A"}],
    }


def api_table(title, url, params, columns, x, y, w=24, h=10):
    return {
        "type": "table", "title": title, "datasource": API, "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": [{
            "datasource": API, "refId": "A", "type": "json", "source": "url", "parser": "backend", "format": "table",
            "root_selector": "data", "url": url,
            "url_options": {"method": "GET", "data": "", "headers": [], "params": [{"key": k, "value": v} for k, v in params]},
            "columns": [{"selector": s, "text": t, "type": kind} for s, t, kind in columns],
        }],
    }


def variable(name, label, query=None, options=None, kind="textbox"):
    entry = {"name": name, "label": label, "type": kind, "hide": 0}
    if kind == "textbox":
        entry["query"] = query or ""
    elif kind == "custom":
        entry["query"] = ",".join(options)
        entry["current"] = {"text": options[0], "value": options[0]}
        entry["options"] = [{"text": o, "value": o, "selected": i == 0} for i, o in enumerate(options)]
    return entry


def dashboard(uid, title, description, panels, variables, time_from="now-24h"):
    return {
        "uid": uid, "title": title, "description": description, "tags": ["ceems"], "editable": True,
        "schemaVersion": 39, "version": 1, "time": {"from": time_from, "to": "now"}, "timezone": "browser",
        "templating": {"list": variables}, "annotations": {"list": []}, "links": [], "panels": panels,
    }


providers = ["owid", "rte", "emaps"]
cluster = dashboard(
    "ceems-cluster", "CEEMS / Cluster", "Power, emissions and usage of each CEEMS exporter job (admins).",
    [
        stat("Compute units running", "sum(ceems_compute_units{job=\"${job}\"})", "none", 0, 0),
        stat("Host power", "sum(job:ceems_host_power_watts:pue{job=\"${job}\"})", "watt", 6, 0),
        stat("GPU power", "sum(job:ceems_gpu_power_watts:pue)", "watt", 12, 0),
        stat("Host energy over the range",
             "sum(sum_over_time(job:ceems_host_power_watts:pue{job=\"${job}\"}[$__range:$__interval])) * $__interval_ms / 3.6e9",
             "kwatth", 18, 0),
        timeseries("Power", [("job:ceems_host_power_watts:pue{job=\"${job}\"}", "host {{job}}"),
                             ("job:ceems_gpu_power_watts:pue", "GPU {{job}}")], "watt", 0, 4),
        timeseries("Emission rate", [("job:ceems_host_emissions_g_s:pue{job=\"${job}\",provider=\"${provider}\"}", "host {{provider}}"),
                                     ("job:ceems_gpu_emissions_g_s:pue{provider=\"${provider}\"}", "GPU {{provider}}")],
                   "massg", 12, 4),
        timeseries("CPU and memory usage", [("job:ceems_cpu_usage:avg_ratio_irate{job=\"${job}\"}", "CPU"),
                                            ("job:ceems_cpu_memory_usage:avg_ratio{job=\"${job}\"}", "memory")],
                   "percent", 0, 12),
        timeseries("GPU usage", [("job:ceems_gpu_usage:avg", "GPU {{job}}"),
                                 ("job:ceems_gpu_memory_usage:avg_ratio", "GPU memory {{job}}")], "percent", 12, 12),
    ],
    [variable("job", "CEEMS exporter job", "ceems"), variable("provider", "Emission factor provider", options=providers, kind="custom")],
)

usage_columns = [
    ("project", "Project", "string"), ("num_units", "Units", "number"),
    ("total_time_seconds.walltime", "Wall time (s)", "number"),
    ("avg_cpu_usage.global", "CPU usage (%)", "number"), ("avg_cpu_mem_usage.global", "CPU memory (%)", "number"),
    ("total_cpu_energy_usage_kwh.total", "Host energy (kWh)", "number"),
    ("total_cpu_emissions_gms.owid_total", "Host emissions OWID (g)", "number"),
    ("avg_gpu_usage.global", "GPU usage (%)", "number"), ("total_gpu_energy_usage_kwh.total", "GPU energy (kWh)", "number"),
]
unit_columns = [
    ("uuid", "Job ID", "string"), ("name", "Name", "string"), ("project", "Project", "string"),
    ("state", "State", "string"), ("elapsed", "Elapsed", "string"),
    ("avg_cpu_usage.global", "CPU usage (%)", "number"), ("avg_cpu_mem_usage.global", "CPU memory (%)", "number"),
    ("total_cpu_energy_usage_kwh.total", "Host energy (kWh)", "number"),
    ("total_cpu_emissions_gms.owid_total", "Host emissions OWID (g)", "number"),
    ("avg_gpu_usage.global", "GPU usage (%)", "number"), ("total_gpu_energy_usage_kwh.total", "GPU energy (kWh)", "number"),
]
window = [("cluster_id", "${cluster}"), ("from", "${__from:date:seconds}"), ("to", "${__to:date:seconds}")]
usage = dashboard(
    "ceems-usage", "CEEMS / My usage", "The logged-in user's compute units and usage per project (ceems_api_server).",
    [
        api_table("Usage per project", "/api/v1/usage/current", window, usage_columns, 0, 0, h=8),
        api_table("Compute units", "/api/v1/units", window, unit_columns, 0, 8, h=14),
    ],
    [variable("cluster", "Cluster ID", "demo")],
    time_from="now-7d",
)

job = dashboard(
    "ceems-job", "CEEMS / Compute unit", "One compute unit through ceems_lb: usage, power, emissions.",
    [
        timeseries("CPU usage", [("uuid:ceems_cpu_usage:ratio_irate{uuid=\"${jobid}\"}", "{{hostname}}")], "percent", 0, 0),
        timeseries("Memory usage", [("uuid:ceems_cpu_memory_usage:ratio{uuid=\"${jobid}\"}", "{{hostname}}"),
                                    ("ceems_compute_unit_memory_used_bytes{uuid=\"${jobid}\"} / 2^20", "MiB used on {{hostname}}")],
                   "percent", 12, 0),
        timeseries("Host power", [("uuid:ceems_host_power_watts:pue{uuid=\"${jobid}\"}", "{{hostname}}")], "watt", 0, 8),
        timeseries("Host emission rate", [("uuid:ceems_host_emissions_g_s:pue{uuid=\"${jobid}\",provider=\"${provider}\"}", "{{provider}}")],
                   "massg", 12, 8),
        timeseries("GPU power", [("uuid:ceems_gpu_power_watts:pue{uuid=\"${jobid}\"}", "GPU {{index}}")], "watt", 0, 16),
        timeseries("GPU usage", [("uuid:ceems_gpu_usage:ratio{uuid=\"${jobid}\"}", "GPU {{index}}"),
                                 ("uuid:ceems_gpu_memory_usage:ratio{uuid=\"${jobid}\"}", "GPU memory {{index}}")],
                   "percent", 12, 16),
    ],
    [variable("jobid", "Job ID / unit uuid"), variable("provider", "Emission factor provider", options=providers, kind="custom")],
    time_from="now-6h",
)

os.makedirs(root, exist_ok=True)
for item in (cluster, usage, job):
    with open(os.path.join(root, item["uid"] + ".json"), "w") as f:
        json.dump(item, f, indent=2)
        f.write("\n")
print("wrote", ", ".join(item["uid"] + ".json" for item in (cluster, usage, job)))
