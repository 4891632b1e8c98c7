#!/usr/bin/env python3
"""Runs every query of CEEMS' Grafana dashboards (read from ../shared/fixtures/dashboards, not copied) against the
demo stack, as Grafana would: PromQL through ceems_lb with the template variables filled in for one demo job, and
the Infinity datasource's API calls against ceems_api_server.

usage: dashboards.py DASHBOARD_DIRS LB_URL API_URL CLUSTER OWNER OTHER JOBID INSTANCE START END
(DASHBOARD_DIRS: directories separated by ":", each with dashboards or folders of dashboards)

Checks: every PromQL expression of the per-job dashboards answers 200 for the job's owner, the CPU, memory and
energy ones with data; every one is refused (403) for another user; expressions of dashboards without a unit
variable (cluster views) answer an admin and are refused to the owner; every API call answers a success
envelope (admin endpoints for an admin). Exit status 1 on any failure.
"""
import glob, json, os, re, sys, urllib.error, urllib.parse, urllib.request

directories, lb, api, cluster, owner, other, jobid, instance, start, end = sys.argv[1:11]
start, end = int(start), int(end)


def expressions(node, found):
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str) and node["expr"].strip():
            found.append(node["expr"])
        for value in node.values():
            expressions(value, found)
    elif isinstance(node, list):
        for value in node:
            expressions(value, found)
    return found


def api_calls(node, found):
    if isinstance(node, dict):
        url = node.get("url")
        if isinstance(url, str) and url.startswith("/api/v1/"):
            found.append((url, node.get("url_options") or {}))
        for value in node.values():
            api_calls(value, found)
    elif isinstance(node, list):
        for value in node:
            api_calls(value, found)
    return found


span = max(end - start, 60)
variables = {
    "jobid": jobid, "uuid": jobid, "host": instance, "gpu": "", "provider": "owid", "country_code": "FR",
    "account": "demo", "user": owner, "job": "ceems", "VAR_CLUSTER_ID": cluster, "VAR_ENDPOINT": "",
    "__range": f"{span}s", "__interval": "2s", "__interval_ms": "2000", "__rate_interval": "8s",
    "__range_s": str(span), "__from:date:seconds": str(start), "__to:date:seconds": str(end),
    "__from": str(start * 1000), "__to": str(end * 1000),
}


def fill(text):
    def one(match):
        name = match.group(1) or match.group(2)
        return variables.get(name, "")
    return re.sub(r"\$\{([^}]+)\}|\$(\w+)", one, text)


def get(url, user, cluster_header=True):
    request = urllib.request.Request(url)
    request.add_header("X-Grafana-User", user)
    if cluster_header:
        request.add_header("X-Ceems-Cluster-Id", cluster)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


failures = []
checked = with_data = refused = 0
paths = []
for directory in directories.split(":"):
    paths += sorted(glob.glob(os.path.join(directory, "*.json")) + glob.glob(os.path.join(directory, "*", "*.json")))
for path in paths:
    dashboard = json.load(open(path))
    name = os.path.basename(os.path.dirname(path)) + "/" + os.path.basename(path)
    per_unit = any(v.get("name") in ("jobid", "uuid") for v in dashboard.get("templating", {}).get("list", []))
    if not per_unit:
        # A cluster view: admins only.
        for expression in expressions(dashboard, []):
            query = fill(expression)
            url = f"{lb}/api/v1/query_range?" + urllib.parse.urlencode(
                {"query": query, "start": start, "end": end, "step": 2})
            checked += 1
            status, body = get(url, "admin")
            if status != 200:
                failures.append(f"{name}: admin got {status} for {query}: {body[:200]}")
            elif json.loads(body)["data"]["result"]:
                with_data += 1
            status, _ = get(url, owner)
            if status == 403:
                refused += 1
            else:
                failures.append(f"{name}: a plain user got {status} for the cluster view {query}")
    elif "openstack" not in name:
        for expression in expressions(dashboard, []):
            query = fill(expression)
            url = f"{lb}/api/v1/query_range?" + urllib.parse.urlencode(
                {"query": query, "start": start, "end": end, "step": 2})
            status, body = get(url, owner)
            checked += 1
            if status != 200:
                failures.append(f"{name}: owner got {status} for {query}: {body[:200]}")
                continue
            result = json.loads(body)["data"]["result"]
            essential = re.search(r"cpu_usage|memory_used|host_power|host_emissions", query) and "gpu" not in query
            if result:
                with_data += 1
            elif essential:
                failures.append(f"{name}: no data for the owner from {query}")
            status, body = get(url, other)
            if status == 403:
                refused += 1
            else:
                failures.append(f"{name}: another user got {status} for {query}")
    for url, options in api_calls(dashboard, []):
        params = [(p["key"], fill(p["value"])) for p in options.get("params", []) if p.get("key")]
        target = f"{api}{fill(url)}?" + urllib.parse.urlencode([(k, v) for k, v in params if v != ""])
        # Admin views (…/admin endpoints) are made by an admin of the API server.
        status, body = get(target, "admin" if "/admin" in target else owner, cluster_header=False)
        checked += 1
        try:
            ok = status == 200 and json.loads(body).get("status") == "success"
        except ValueError:
            ok = False
        if not ok:
            failures.append(f"{name}: API {target} answered {status}: {body[:200]}")

print(f"      dashboards: {checked} queries and API calls; {with_data} PromQL expressions with data for the owner, "
      f"{refused} refused for another user; {len(failures)} failure(s)")
for failure in failures[:20]:
    print("      " + failure)
sys.exit(1 if failures else 0)
