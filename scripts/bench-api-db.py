#!/usr/bin/env python3
"""Fills a ceems_api_server database (already created by the server, so the schema is its own) with a synthetic
site: --units units over --days days ending now (Jean Zay runs ~25k jobs a day), --users users in --projects
projects (each user in 1-3 projects). Used by scripts/bench-api."""
import argparse, json, random, sqlite3, time
from datetime import datetime, timezone

parser = argparse.ArgumentParser()
parser.add_argument("db")
parser.add_argument("--units", type=int, default=1_000_000)
parser.add_argument("--days", type=int, default=40)
parser.add_argument("--users", type=int, default=2000)
parser.add_argument("--projects", type=int, default=500)
args = parser.parse_args()
random.seed(42)

now = int(time.time())
start = now - args.days * 86400
def fmt(t, offset=True):
    text = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return text + "+0000" if offset else text

memberships = {}
for u in range(args.users):
    memberships[f"user{u}"] = sorted({f"proj{random.randrange(args.projects)}" for _ in range(random.randint(1, 3))})

def units():
    users = list(memberships)
    for i in range(args.units):
        user = users[i % args.users]
        project = memberships[user][i % len(memberships[user])]
        begin = start + (i * args.days * 86400) // args.units + random.randint(-600, 600)
        length = random.randint(60, 4 * 3600)
        end = min(begin + length, now - 60)
        cpus = random.choice([1, 2, 4, 8, 16, 32, 64])
        gpus = random.choice([0, 0, 0, 1, 2, 4])
        mem = cpus * 4 * 1024**3
        e = max(0, end - begin)
        total = json.dumps({"alloc_cpumemtime": mem * e // 1048576, "alloc_cputime": cpus * e, "alloc_gpumemtime": e if gpus else 0,
                            "alloc_gputime": gpus * e, "walltime": e}, separators=(",", ":"), sort_keys=True)
        yield ("slurm", "slurm-0", str(10_000_000 + i), f"job{i % 977}", project, "grp", user, fmt(begin - 30), fmt(begin), fmt(end),
               (begin - 30) * 1000, begin * 1000, end * 1000, f"{e // 3600:02d}:{e % 3600 // 60:02d}:{e % 60:02d}", "COMPLETED",
               f'{{"billing":{cpus},"cpus":{cpus},"gpus":{gpus},"mem":{mem},"nodes":1}}',
               f'{{"exit_code":"0:0","gid":1000,"nodelist":"n{i % 1400}","nodelistexp":"n{i % 1400}","partition":"cpu","qos":"normal","uid":1000,"workdir":"/home/{user}"}}',
               total, f'{{"global":{random.random():.8f}}}', f'{{"global":{random.random():.8f}}}', f'{{"total":{random.random() * 5:.8f}}}',
               f'{{"emaps_total":{random.random() * 100:.8f},"owid_total":{random.random() * 100:.8f},"rte_total":{random.random() * 50:.8f}}}',
               f'{{"global":{random.random():.8f}}}' if gpus else "{}", f'{{"global":{random.random():.8f}}}' if gpus else "{}",
               f'{{"total":{random.random() * 5:.8f}}}' if gpus else "{}", "{}", "{}", "{}", "{}", "{}",
               0, 1, fmt(end + 300, offset=False))

db = sqlite3.connect(args.db)
db.execute("PRAGMA synchronous=OFF")
columns = ("resource_manager,cluster_id,uuid,name,project,groupname,username,created_at,started_at,ended_at,created_at_ts,"
           "started_at_ts,ended_at_ts,elapsed,state,allocation,tags,total_time_seconds,avg_cpu_usage,avg_cpu_mem_usage,"
           "total_cpu_energy_usage_kwh,total_cpu_emissions_gms,avg_gpu_usage,avg_gpu_mem_usage,total_gpu_energy_usage_kwh,"
           "total_gpu_emissions_gms,total_io_write_stats,total_io_read_stats,total_ingress_stats,total_egress_stats,ignore,"
           "num_updates,last_updated_at")
t0 = time.time()
db.executemany(f"INSERT INTO units ({columns}) VALUES ({','.join('?' * 33)})", units())
stamp = fmt(now, offset=False)
for user, projects in memberships.items():
    db.execute("INSERT INTO users (uid,cluster_id,resource_manager,name,projects,tags,last_updated_at) VALUES ('', 'slurm-0', 'slurm', ?, ?, 'null', ?)",
               (user, json.dumps(projects, separators=(",", ":")), stamp))
    for project in projects:
        db.execute("INSERT INTO usage (resource_manager,cluster_id,num_units,project,username,groupname,total_time_seconds,avg_cpu_usage,num_updates,last_updated_at) "
                   "VALUES ('slurm','slurm-0',500,?,?,'grp','{\"walltime\":1000000}','{\"global\":0.5}',100,?) ON CONFLICT DO NOTHING", (project, user, stamp))
members = {}
for user, projects in memberships.items():
    for p in projects:
        members.setdefault(p, []).append(user)
for p, users in members.items():
    db.execute("INSERT INTO projects (uid,cluster_id,resource_manager,name,users,tags,last_updated_at) VALUES ('', 'slurm-0', 'slurm', ?, ?, 'null', ?)",
               (p, json.dumps(sorted(users), separators=(",", ":")), stamp))
db.commit()
db.execute("ANALYZE")
db.close()
print(f"{args.units} units, {len(memberships)} users, {len(members)} projects written in {time.time() - t0:.0f} s")
