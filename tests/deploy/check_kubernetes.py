#!/usr/bin/env python3
"""Checks examples/deploy/kubernetes against itself and the Worker: the YAML parses, the probes
hit the operations endpoint the container is told to serve, the grace period covers the
Worker's shutdown deadline, the Service selects the pods, the Dockerfile runs the same flags."""
import re
import sys
from pathlib import Path

try:
    import yaml
except ImportError:
    print("python3-yaml is missing (scripts/install-deps.sh): skipped")
    sys.exit(77)

root = Path(sys.argv[1])
deploy = root / "examples/deploy/kubernetes"
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def flag(args, name):
    return args[args.index(name) + 1] if name in args else None


docs = {d["kind"]: d for d in yaml.safe_load_all((deploy / "deployment.yaml").read_text())}
check(set(docs) == {"Deployment", "Service"}, f"kinds: {sorted(docs)}")
dep, svc = docs["Deployment"], docs["Service"]
check(dep["spec"]["replicas"] >= 2, "a single replica")
pod = dep["spec"]["template"]
check(dep["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items(),
      "the Deployment's selector does not match its pods")
check(svc["spec"]["selector"].items() <= pod["metadata"]["labels"].items(),
      "the Service's selector does not match the pods")
(container,) = pod["spec"]["containers"]
args = container["args"]
ports = {p["name"]: p["containerPort"] for p in container["ports"]}
web_port = flag(args, "--web-port")
check(flag(args, "--web-host") == "0.0.0.0", "--web-host is not 0.0.0.0: probes would not reach it")
check(web_port is not None and ports.get("ops") == int(web_port),
      f"port 'ops' {ports.get('ops')} is not --web-port {web_port}")
check(ports.get("http") == int(flag(args, "--port") or -1), "port 'http' is not --port")
for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
    get = container[probe]["httpGet"]
    check(get["path"] == path and get["port"] == "ops", f"{probe}: {get}")
for p in svc["spec"]["ports"]:
    check(p["targetPort"] in ports, f"Service targets unknown port {p['targetPort']}")

worker = (root / "include/mode/worker_options.hpp").read_text()
deadline = float(re.search(r"Seconds shutdown_deadline = ([0-9.]+);", worker).group(1))
grace = pod["spec"]["terminationGracePeriodSeconds"]
check(grace > deadline, f"terminationGracePeriodSeconds {grace} <= shutdown_deadline {deadline}")

dockerfile = (deploy / "Dockerfile").read_text()
stages = re.findall(r"^FROM (\S+)", dockerfile, re.M)
check(len(stages) >= 2 and all(s.startswith("debian:12") for s in stages),
      f"not a multi-stage Debian 12 build: {stages}")
cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
check(cmd is not None and yaml.safe_load(cmd.group(1)) == args,
      "the Dockerfile's CMD differs from the Deployment's args")

for f in failures:
    print(f"FAIL: {f}")
sys.exit(1 if failures else 0)
