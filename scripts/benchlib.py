"""Helpers shared by the benchmark scripts: ports, process CPU and memory, wrk runs, exporter processes."""
import os
import re
import socket
import subprocess
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf('SC_CLK_TCK')


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_ready(url, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except Exception:
            time.sleep(0.1)
    raise SystemExit('exporter at %s did not answer' % url)


def cpu_seconds(pid):
    fields = open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def memory(pid):
    values = {}
    for line in open('/proc/%d/status' % pid):
        key, _, rest = line.partition(':')
        if key in ('VmRSS', 'VmHWM', 'RssAnon', 'RssFile'):
            values[key] = int(rest.split()[0]) / 1024.0
    return values


def to_ms(text):
    value, unit = re.match(r'([\d.]+)(us|ms|s)', text).groups()
    return float(value) * {'us': 0.001, 'ms': 1.0, 's': 1000.0}[unit]


def run_wrk(url, duration, headers=()):
    argv = ['wrk', '-t1', '-c1', '-d%ds' % duration, '--latency']
    for header in headers:
        argv += ['-H', header]
    out = subprocess.run(argv + [url], check=True, capture_output=True, text=True).stdout
    p50 = to_ms(re.search(r'^\s+50%\s+(\S+)', out, re.M).group(1))
    p99 = to_ms(re.search(r'^\s+99%\s+(\S+)', out, re.M).group(1))
    requests = int(re.search(r'(\d+) requests in', out).group(1))
    errors = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    if errors:
        raise SystemExit('%s answered %s errors' % (url, errors.group(1)))
    return p50, p99, requests


def build_release_exporter(binary):
    if not os.path.exists(binary):
        subprocess.run(['swift', 'build', '-c', 'release', '--static-swift-stdlib', '--product', 'ceems_exporter'],
                       cwd=ROOT, check=True)
    # A freshly linked binary sits in dirty page-cache pages, which the kernel cannot reclaim: flush them, as
    # they would be on a node where the exporter was installed long ago.
    os.sync()


class Exporter:
    """An exporter process on a free loopback port (`@PORT@` in argv), measured by wrk."""

    def __init__(self, name, argv):
        self.name = name
        self.port = free_port()
        self.argv = [a.replace('@PORT@', str(self.port)) for a in argv]
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = 'http://127.0.0.1:%d/metrics' % self.port
        wait_ready(self.url)
        self.p50, self.p99, self.cpu_per_scrape = [], [], []
        self.memory = {}
        self.body = b''

    def measure(self, duration, headers=()):
        before = cpu_seconds(self.proc.pid)
        p50, p99, requests = run_wrk(self.url, duration, headers)
        self.p50.append(p50)
        self.p99.append(p99)
        self.cpu_per_scrape.append((cpu_seconds(self.proc.pid) - before) / max(requests, 1) * 1000)
        self.memory = memory(self.proc.pid)
        self.body = urllib.request.urlopen(self.url).read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)
