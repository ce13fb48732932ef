#!/usr/bin/env bash
# Checks of the operations bundle (deploy/, dashboards/, docs/runbook.md) with the real tools:
# promtool (rules and their unit tests), kubectl kustomize + kubernetes-validate (+ the Prometheus
# Operator CRD schemas from @kubernetes-models/prometheus-operator), docker-compose config,
# systemd-analyze, structural checks of the Dockerfile and the Grafana dashboard, and finally
# .ci/e2e-prometheus.sh (the demo scraped by a real Prometheus). Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> ops: %s\n' "$*"; }

cache=${XDG_CACHE_HOME:-$HOME/.cache}/atlas-invites-exporter-ci
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache"

step "install tools"
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
if [ "${#missing[@]}" -gt 0 ] || ! command -v kubectl >/dev/null 2>&1; then
  apt-get update -qq
fi
if [ "${#missing[@]}" -gt 0 ]; then
  # No recommends: docker-compose would pull in a Docker engine, which these checks do not use.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; exit 1; }
fi
if ! command -v kubectl >/dev/null 2>&1; then
  # The machine image ships a current kubectl; Debian's kubernetes-client (1.20) is the fallback.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubectl >/dev/null 2>&1 ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
fi
venv=$cache/venv
if ! "$venv/bin/python" -c 'import kubernetes_validate, yaml' >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check kubernetes-validate==1.37.0 PyYAML
fi
py=$venv/bin/python
crd_models=$cache/npm
if [ ! -d "$crd_models/node_modules/@kubernetes-models/prometheus-operator" ]; then
  mkdir -p "$crd_models"
  npm install --silent --no-audit --no-fund --no-save --prefix "$crd_models" \
    @kubernetes-models/prometheus-operator@6.0.0 >/dev/null 2>&1
fi
echo "promtool: $(promtool --version 2>&1 | head -n1)"
echo "kubectl: $(kubectl version --client 2>/dev/null | head -n1)"
echo "docker-compose: $(docker-compose version --short 2>/dev/null)"

step "shellcheck of the ops scripts"
shellcheck .ci/ops-checks.sh .ci/e2e-prometheus.sh

step "promtool: rules"
promtool check rules deploy/prometheus/rules.yml
promtool test rules deploy/prometheus/rules.test.yml

step "rules: metric names, runbook anchors, PrometheusRule in sync"
"$py" deploy/kubernetes/sync-prometheusrule.py --check
"$py" - <<'PYEOF'
"""Every metric the rules and the dashboard query is documented; every alert has its runbook."""
import json
import re
import sys

import yaml

documented = set(re.findall(r"^\| `([a-z_:]+)`", open("docs/metrics.md", encoding="utf-8").read(), re.M))
# Issue 3 (not built yet) adds these; the sunset alert is written against the first.
documented |= {"atlas_invites_api_sunset_timestamp_seconds", "atlas_invites_api_deprecated",
               "atlas_invites_source_info", "atlas_invites_shard_info"}
standard = {"up", "process_resident_memory_bytes"}
errors = []


def metric_names(expr):
    expr = re.sub(r"\b[a-z_]+:[a-z_:0-9]+", " ", expr)  # recording rule names
    names = set(re.findall(r"\b((?:atlas_invites|process)_[a-z0-9_]+|up)\b", expr))
    # A histogram's series are documented under its name.
    return {re.sub(r"_(bucket|sum|count)$", "", n) if n.endswith(("_bucket", "_sum", "_count")) and
            re.sub(r"_(bucket|sum|count)$", "", n) in documented else n for n in names}


rules = yaml.safe_load(open("deploy/prometheus/rules.yml", encoding="utf-8"))
recorded = set()
runbook = open("docs/runbook.md", encoding="utf-8").read()
anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
           for h in re.findall(r"^#+ (.+)$", runbook, re.M)}
alerts = []
for group in rules["groups"]:
    for rule in group["rules"]:
        for name in metric_names(rule["expr"]) - documented - standard:
            errors.append(f"rules.yml {rule.get('alert') or rule.get('record')}: undocumented metric {name}")
        if "record" in rule:
            recorded.add(rule["record"])
            continue
        alerts.append(rule["alert"])
        name = rule["alert"]
        if not name.startswith("AtlasInvites"):
            errors.append(f"{name}: no AtlasInvites prefix")
        if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
            errors.append(f"{name}: severity {rule.get('labels')}")
        annotations = rule.get("annotations", {})
        for key in ("summary", "description", "runbook_url"):
            if not annotations.get(key):
                errors.append(f"{name}: no {key}")
        anchor = annotations.get("runbook_url", "").partition("#")[2]
        if anchor != name.lower():
            errors.append(f"{name}: runbook_url anchor {anchor!r}")
        if anchor not in anchors:
            errors.append(f"{name}: docs/runbook.md has no section #{anchor}")
        if "org_id" in rule["expr"] and "org_name" not in annotations.get("summary", ""):
            errors.append(f"{name}: per-organisation alert without org_name in its summary")

tests = yaml.safe_load(open("deploy/prometheus/rules.test.yml", encoding="utf-8"))
for name in alerts:
    cases = [case for test in tests["tests"] for case in test.get("alert_rule_test", [])
             if case["alertname"] == name]
    if not any(case.get("exp_alerts") for case in cases) or not any(not case.get("exp_alerts") for case in cases):
        errors.append(f"{name}: rules.test.yml must test it both firing and not firing")
    for case in cases:
        for alert in case.get("exp_alerts") or []:
            if not alert.get("exp_annotations") or not alert.get("exp_labels"):
                errors.append(f"{name}: a test without exact labels and annotations")

dashboard = json.load(open("dashboards/atlas-invites.json", encoding="utf-8"))
def panels(items):
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))
for panel in panels(dashboard["panels"]):
    for target in panel.get("targets", []):
        for name in metric_names(target.get("expr", "")) - documented - standard:
            errors.append(f"dashboard {panel['title']!r}: undocumented metric {name}")

if errors:
    print("\n".join(errors))
    sys.exit(1)
print(f"{len(alerts)} alerts with runbook sections and firing/not-firing tests, {len(recorded)} recording rules; "
      "every metric used is in docs/metrics.md")
PYEOF

step "dashboard: structure"
"$py" - <<'PYEOF'
"""Structural checks of the Grafana dashboard (Classic JSON), the rules grafana/dashboard-linter
applies to datasources, variables and rate intervals, done by hand since it is not packaged here."""
import json
import re
import sys

dashboard = json.load(open("dashboards/atlas-invites.json", encoding="utf-8"))
errors = []
if dashboard.get("id", "missing") is not None:
    errors.append("id must be null")
if dashboard.get("uid") != "atlas-invites-exporter":
    errors.append(f"uid must stay atlas-invites-exporter, is {dashboard.get('uid')!r}")
if not isinstance(dashboard.get("schemaVersion"), int):
    errors.append("no schemaVersion")
variables = {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}
ds = variables.get("datasource")
if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus" or ds.get("label") != "Data Source":
    errors.append(f"datasource variable: {ds}")
if [v for v in variables.values() if v.get("type") == "datasource"] != [ds]:
    errors.append("exactly one datasource variable")
for name in ("job", "org"):
    variable = variables.get(name)
    if not variable or variable.get("type") != "query":
        errors.append(f"no query variable {name}")
        continue
    if variable.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
        errors.append(f"variable {name}: datasource {variable.get('datasource')}")
    if variable.get("options") or variable.get("current"):
        errors.append(f"variable {name}: saved options")
org = variables.get("org", {})
org_query = org.get("query", {}).get("query", "") if isinstance(org.get("query"), dict) else org.get("query", "")
if "atlas_invites_org_info" not in org_query or "(?<text>" not in org.get("regex", "") or "(?<value>" not in org.get("regex", ""):
    errors.append("org variable: values from atlas_invites_org_info, shown by org_name")

def walk(node, path):
    if isinstance(node, dict):
        if "datasource" in node and isinstance(node["datasource"], dict):
            uid = node["datasource"].get("uid")
            if uid not in ("${datasource}", "-- Grafana --"):
                errors.append(f"{path}: hard-coded datasource uid {uid!r}")
        if "datasource" in node and isinstance(node["datasource"], str):
            errors.append(f"{path}: datasource by name {node['datasource']!r}")
        for key, value in node.items():
            walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            walk(value, f"{path}[{index}]")
walk(dashboard, "$")

def panels(items):
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))
ids = set()
queries = 0
for panel in panels(dashboard["panels"]):
    title = panel.get("title") or f"panel {panel.get('id')}"
    if panel.get("id") in ids:
        errors.append(f"{title}: duplicate id")
    ids.add(panel.get("id"))
    grid = panel.get("gridPos", {})
    if not grid or grid.get("x", 0) + grid.get("w", 0) > 24:
        errors.append(f"{title}: gridPos {grid}")
    if panel["type"] == "row":
        continue
    if panel.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
        errors.append(f"{title}: panel datasource {panel.get('datasource')}")
    if not panel.get("description"):
        errors.append(f"{title}: no description")
    refs = [t.get("refId") for t in panel.get("targets", [])]
    if not refs or len(set(refs)) != len(refs):
        errors.append(f"{title}: targets {refs}")
    for target in panel.get("targets", []):
        expr = target.get("expr", "")
        queries += 1
        for match in re.finditer(r"\b(rate|irate|increase)\([^\[]*\[([^\]]+)\]", expr):
            if match.group(2) not in ("$__rate_interval", "$__range"):
                errors.append(f"{title}: {match.group(1)} over {match.group(2)}, not $__rate_interval")
        if "atlas_invites_" in expr and "job=~\"$job\"" not in expr:
            errors.append(f"{title}: a query without the $job filter")
        # Series that belong to no organisation: build, OAuth, latency, the credential, the listener.
        if re.search(r"atlas_invites_(?!build_info|oauth|api_request_duration|credential_secret|http_connections)\w+\{", expr) and '$org' not in expr:
            errors.append(f"{title}: a per-organisation query without the $org filter")
if errors:
    print("\n".join(errors))
    sys.exit(1)
print(f"dashboard: {len(ids)} panels, {queries} queries, datasource variable only, id null, uid stable")
PYEOF

step "docker: Dockerfile lint (structure) and build context"
"$py" - <<'PYEOF'
"""hadolint is not packaged here: the rules that matter for this image, checked by hand."""
import fnmatch
import pathlib
import re
import shlex
import sys

text = pathlib.Path("deploy/docker/Dockerfile").read_text(encoding="utf-8")
lines = re.sub(r"\\\n", " ", text).splitlines()
instructions = [(l.split(None, 1)[0].upper(), l.split(None, 1)[1] if len(l.split(None, 1)) > 1 else "")
                for l in (l.strip() for l in lines) if l and not l.startswith("#")]
errors = []
args = dict(re.findall(r"^ARG (\w+)=(\S*)", text, re.M))
stages = [a for i, a in instructions if i == "FROM"]
if len(stages) < 2:
    errors.append("not a multi-stage build")
for stage in stages:
    image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), stage.split()[0])
    if ":" not in image or image.endswith(":latest"):
        errors.append(f"FROM {image}: pin a tag")
names = {s.split()[-1] for s in stages if " AS " in s.upper()}
for i, a in instructions:
    if i == "COPY" and "--from=" in a and a.split("--from=")[1].split()[0] not in names:
        errors.append(f"COPY {a}: unknown stage")
    if i == "RUN" and "apt-get install" in a and ("--no-install-recommends" not in a or "rm -rf /var/lib/apt/lists" not in a):
        errors.append(f"RUN {a[:60]}...: apt-get without --no-install-recommends or list cleanup")
if not any(i == "RUN" and "cargo build --release --locked" in a for i, a in instructions):
    errors.append("no `cargo build --release --locked`")
final = instructions[max(k for k, (i, _) in enumerate(instructions) if i == "FROM"):]
user = [a for i, a in final if i == "USER"]
if not user or not re.fullmatch(r"[1-9][0-9]*(:[1-9][0-9]*)?", user[-1]):
    errors.append(f"final stage USER must be a numeric non-root uid, is {user}")
if ("EXPOSE", "10046") not in final:
    errors.append("no EXPOSE 10046")
health = [a for i, a in final if i == "HEALTHCHECK"]
if not health or "/-/healthy" not in health[0]:
    errors.append("no HEALTHCHECK on /-/healthy")
entry = [a for i, a in final if i == "ENTRYPOINT"]
if not entry or not entry[0].startswith("["):
    errors.append("ENTRYPOINT must be the binary in exec form")
# Every file the build copies from the context exists and survives Dockerfile.dockerignore.
ignore = [l.strip() for l in pathlib.Path("deploy/docker/Dockerfile.dockerignore").read_text().splitlines()
          if l.strip() and not l.startswith("#")]
def kept(path):
    keep = True
    for pattern in ignore:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            keep = negate
    return keep
for i, a in instructions:
    if i == "COPY" and "--from=" not in a:
        for source in shlex.split(a)[:-1]:
            if source.startswith("--"):
                continue
            if not pathlib.Path(source).exists():
                errors.append(f"COPY {source}: no such file in the repository")
            elif not kept(source):
                errors.append(f"COPY {source}: excluded by Dockerfile.dockerignore")
if kept("target/debug/x") or kept(".git/HEAD"):
    errors.append("Dockerfile.dockerignore lets target/ or .git/ into the context")
if errors:
    print("\n".join(errors))
    sys.exit(1)
print(f"Dockerfile: {len(stages)} stages, non-root USER {user[-1]}, EXPOSE 10046, HEALTHCHECK, --locked")
PYEOF

step "compose: docker-compose config, Prometheus config, Grafana provisioning"
docker-compose -f deploy/compose/docker-compose.yml config -q
mkdir -p "$work/compose/rules"
cp deploy/compose/prometheus.yml "$work/compose/prometheus.yml"
cp deploy/prometheus/rules.yml "$work/compose/rules/atlas-invites.yml"
promtool check config "$work/compose/prometheus.yml"
"$py" - <<'PYEOF'
import pathlib
import sys

import yaml

compose = yaml.safe_load(open("deploy/compose/docker-compose.yml", encoding="utf-8"))
errors = []
base = pathlib.Path("deploy/compose")
for name, service in compose["services"].items():
    for volume in service.get("volumes", []):
        source = volume.split(":")[0]
        if source.startswith(".") and not (base / source).exists():
            errors.append(f"{name}: volume source {source} does not exist")
exporter = compose["services"]["exporter"]
if "--demo" not in exporter.get("command", []):
    errors.append("the Compose exporter must run --demo")
grafana = compose["services"]["grafana"]["environment"]
if grafana.get("GF_AUTH_ANONYMOUS_ENABLED") != "true" or grafana.get("GF_AUTH_ANONYMOUS_ORG_ROLE") != "Viewer":
    errors.append("Grafana: anonymous viewer access")
home = grafana.get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", "")
if not home.endswith("/atlas-invites.json"):
    errors.append("Grafana: the dashboard is not the home page")
datasources = yaml.safe_load(open(base / "grafana/provisioning/datasources/prometheus.yml"))["datasources"]
if not any(d["type"] == "prometheus" and d.get("isDefault") and d["url"] == "http://prometheus:9090" for d in datasources):
    errors.append(f"Grafana datasource: {datasources}")
providers = yaml.safe_load(open(base / "grafana/provisioning/dashboards/atlas-invites.yml"))["providers"]
if not any(p["options"]["path"] == str(pathlib.PurePosixPath(home).parent) for p in providers):
    errors.append(f"Grafana dashboard provider path does not hold {home}")
scrape = yaml.safe_load(open(base / "prometheus.yml"))
if not any(j["job_name"] == "atlas-invites-exporter" and j["static_configs"][0]["targets"] == ["exporter:10046"]
           for j in scrape["scrape_configs"]):
    errors.append("Prometheus does not scrape exporter:10046 as job atlas-invites-exporter")
if errors:
    print("\n".join(errors))
    sys.exit(1)
print("compose: exporter --demo, Prometheus with the rules, Grafana provisioned with anonymous viewers")
PYEOF

step "kubernetes: kustomize render and schema validation"
kubectl kustomize deploy/kubernetes >"$work/k8s-base.yaml"
kubectl kustomize deploy/kubernetes/overlays/sharding >"$work/k8s-sharding.yaml"
for rendered in "$work/k8s-base.yaml" "$work/k8s-sharding.yaml"; do
  echo "-- $(basename "$rendered"): $(grep -c '^kind:' "$rendered") objects"
  # Strict: unknown fields are errors. The two Prometheus Operator kinds have no schema in this
  # package (it warns); they are validated below against the CRD schemas.
  "$venv/bin/kubernetes-validate" --strict --quiet "$rendered" 2>&1 |
    { grep -v "Couldn't find schema for kind \(PrometheusRule\|ServiceMonitor\) with api version monitoring.coreos.com/v1" || true; } |
    tee "$work/validate.out"
  [ ! -s "$work/validate.out" ] || { echo "kubernetes-validate failed"; exit 1; }
done
"$py" - "$work" <<'PYEOF'
"""Checks across the rendered objects that no schema can make, and the CRD objects split out for
the CRD validator and promtool."""
import json
import pathlib
import sys

import yaml

work = pathlib.Path(sys.argv[1])
errors = []
for variant, workload_kind in (("base", "Deployment"), ("sharding", "StatefulSet")):
    objects = [o for o in yaml.safe_load_all(open(work / f"k8s-{variant}.yaml")) if o]
    by_kind = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    (work / f"crd-{variant}.json").write_text(json.dumps(
        [o for o in objects if o["apiVersion"].startswith("monitoring.coreos.com/")]))
    for obj in by_kind.get("PrometheusRule", []):
        (work / f"prometheusrule-{variant}.yml").write_text(yaml.safe_dump({"groups": obj["spec"]["groups"]}))
    workloads = by_kind.get(workload_kind, [])
    if len(workloads) != 1 or ("Deployment" in by_kind and workload_kind == "StatefulSet"):
        errors.append(f"{variant}: expected exactly one {workload_kind}, got {list(by_kind)}")
        continue
    workload = workloads[0]
    pod = workload["spec"]["template"]["spec"]
    container = pod["containers"][0]
    security = container.get("securityContext", {})
    if not pod.get("securityContext", {}).get("runAsNonRoot"):
        errors.append(f"{variant}: pod not runAsNonRoot")
    if not security.get("readOnlyRootFilesystem") or security.get("allowPrivilegeEscalation") is not False:
        errors.append(f"{variant}: container must have a read-only root filesystem and no privilege escalation")
    if not {"requests", "limits"} <= set(container.get("resources", {})):
        errors.append(f"{variant}: resource requests and limits")
    if container.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/-/healthy":
        errors.append(f"{variant}: liveness probe on /-/healthy")
    if container.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/-/ready":
        errors.append(f"{variant}: readiness probe on /-/ready")
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    # Every ConfigMap and Secret the pod uses is rendered (generator hashes included).
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    for volume in pod.get("volumes", []):
        if "configMap" in volume and ("ConfigMap", volume["configMap"]["name"]) not in names:
            errors.append(f"{variant}: ConfigMap {volume['configMap']['name']} not rendered")
        if "secret" in volume and variant == "base" and ("Secret", volume["secret"]["secretName"]) not in names:
            errors.append(f"{variant}: Secret {volume['secret']['secretName']} not rendered")
    config = [o for o in by_kind["ConfigMap"] if o["metadata"]["name"].startswith("atlas-invites-exporter-config")]
    toml = config[0]["data"]["config.toml"] if config else ""
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    if f'client_secret_file = "{mounts.get("credentials")}/client_secret"' not in toml:
        errors.append(f"{variant}: config.toml does not read the mounted client_secret file")
    if variant == "sharding" and 'index = "from_hostname"' not in toml:
        errors.append("sharding: config.toml lacks index = \"from_hostname\"")
    if variant == "sharding" and f"total = {workload['spec']['replicas']}" not in toml:
        errors.append("sharding: [sharding] total differs from the StatefulSet's replicas")
    if variant == "sharding" and workload["spec"].get("serviceName") not in {o["metadata"]["name"] for o in by_kind["Service"] if o["spec"].get("clusterIP") == "None"}:
        errors.append("sharding: the StatefulSet's serviceName is not a headless Service")
    (work / f"config-{variant}.toml").write_text(toml)
    # The ServiceMonitor selects the Service, which selects the pods, on a port that exists.
    service = by_kind["Service"][0]
    monitor = by_kind["ServiceMonitor"][0]
    pod_labels = workload["spec"]["template"]["metadata"]["labels"]
    if not set(monitor["spec"]["selector"]["matchLabels"].items()) <= set(service["metadata"]["labels"].items()):
        errors.append(f"{variant}: ServiceMonitor does not select the Service")
    if not set(service["spec"]["selector"].items()) <= set(pod_labels.items()):
        errors.append(f"{variant}: Service does not select the pods")
    service_ports = {p["name"]: p for p in service["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        if endpoint["port"] not in service_ports or service_ports[endpoint["port"]]["targetPort"] not in ports:
            errors.append(f"{variant}: ServiceMonitor port {endpoint['port']} does not reach the container")
    if service["metadata"]["name"] != "atlas-invites-exporter":
        errors.append(f"{variant}: the Service name is the job label the rules expect")
if errors:
    print("\n".join(errors))
    sys.exit(1)
print("kubernetes: workloads hardened and probed, Service/ServiceMonitor wiring, config mounts consistent")
PYEOF
# The CRD validator lives beside its node_modules so that node resolves the package from there.
cat >"$crd_models/validate-crds.mjs" <<'JSEOF'
// Validates ServiceMonitor and PrometheusRule objects against the Prometheus Operator CRD schemas
// (types, required fields, enums and patterns; the CRD schemas do not forbid unknown fields).
import { readFileSync } from "node:fs";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
const models = { ServiceMonitor, PrometheusRule };
const objects = JSON.parse(readFileSync(process.argv[2], "utf8"));
let failed = objects.length === 0;
for (const object of objects) {
  const Model = models[object.kind];
  if (!Model) { console.log(`no CRD model for ${object.kind}`); failed = true; continue; }
  try { new Model(object).validate(); console.log(`CRD schema ok: ${object.kind}/${object.metadata.name}`); }
  catch (error) { console.log(`${object.kind}/${object.metadata.name}: ${error.message}`); failed = true; }
}
process.exit(failed ? 1 : 0);
JSEOF
for variant in base sharding; do
  promtool check rules "$work/prometheusrule-$variant.yml" >/dev/null
  node "$crd_models/validate-crds.mjs" "$work/crd-$variant.json"
done

step "systemd: systemd-analyze verify and security"
# verify needs ExecStart to exist: check a copy pointing at a stand-in executable.
mkdir -p "$work/systemd"
printf '#!/bin/sh\n' >"$work/systemd/atlas-invites-exporter" && chmod +x "$work/systemd/atlas-invites-exporter"
sed "s|/usr/local/bin/atlas-invites-exporter|$work/systemd/atlas-invites-exporter|" \
  deploy/systemd/atlas-invites-exporter.service >"$work/systemd/atlas-invites-exporter.service"
# verify exits 0 on unknown keys or bad values (it only warns): any output is a failure.
verify_output=$(systemd-analyze verify "$work/systemd/atlas-invites-exporter.service" 2>&1) || true
if [ -n "$verify_output" ]; then echo "$verify_output"; exit 1; fi
systemd-analyze security --offline=yes --threshold=20 "$work/systemd/atlas-invites-exporter.service" | tail -n 1
for directive in DynamicUser=yes ProtectSystem=strict NoNewPrivileges=yes 'LoadCredential=client_secret:'; do
  grep -q "^$directive" deploy/systemd/atlas-invites-exporter.service || { echo "unit lacks $directive"; exit 1; }
done
echo "systemd unit: verified, exposure at most 2.0"

step "shipped configuration files load in the exporter"
cargo build --locked --quiet
printf 'mdb_sa_sk_ci\n' >"$work/client_secret"
# Each rendered ConfigMap's config.toml, with the secret path pointed at a stand-in file and the
# environment Kubernetes would give the pod (HOSTNAME is the pod name: shard 2 of 3).
config_loads() {
  local variant=$1 load_pid loaded=0
  sed "s|/run/secrets/atlas-invites-exporter/client_secret|$work/client_secret|" \
    "$work/config-$variant.toml" >"$work/check-$variant.toml"
  HOSTNAME=atlas-invites-exporter-2 MONGODB_ATLAS_CLIENT_ID=mdb_sa_id_ci timeout 10 \
    target/debug/atlas-invites-exporter --config.file "$work/check-$variant.toml" \
    --web.listen-address 127.0.0.1:0 >"$work/load-$variant.log" 2>&1 &
  load_pid=$!
  for _ in $(seq 1 50); do
    grep -q 'serving metrics at' "$work/load-$variant.log" && break
    kill -0 "$load_pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q 'serving metrics at' "$work/load-$variant.log" && loaded=1
  kill "$load_pid" 2>/dev/null || true
  wait "$load_pid" 2>/dev/null || true
  [ "$loaded" = 1 ]
}
config_loads base || { cat "$work/load-base.log"; echo "the base ConfigMap's config.toml does not load"; exit 1; }
echo "kubernetes base config.toml: loads"
config_loads sharding || { cat "$work/load-sharding.log"; echo "the sharding overlay's config.toml does not load"; exit 1; }
echo "kubernetes sharding config.toml: loads (as shard 2 of 3)"

step "end to end against a real Prometheus"
.ci/e2e-prometheus.sh

echo
echo "ops checks: ok"
