#!/usr/bin/env python3
"""Writes base/prometheusrule.yaml from deploy/prometheus/rules.yml, the rules' one source.

    python3 deploy/kubernetes/sync-prometheusrule.py          # rewrite the PrometheusRule
    python3 deploy/kubernetes/sync-prometheusrule.py --check  # exit 1 if it is out of date

Needs PyYAML.
"""
import pathlib
import sys

import yaml

HERE = pathlib.Path(__file__).resolve().parent
RULES = HERE.parent / "prometheus" / "rules.yml"
TARGET = HERE / "base" / "prometheusrule.yaml"

HEADER = """\
# GENERATED from deploy/prometheus/rules.yml by deploy/kubernetes/sync-prometheusrule.py: edit the
# rules there, then run the script. The Prometheus resource's ruleSelector (and
# ruleNamespaceSelector) must select this object: kube-prometheus-stack, for one, selects
# `release: <its release name>` by default, so add that label in your overlay.
"""


class Dumper(yaml.SafeDumper):
    pass


def represent_str(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, represent_str)


def render():
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    resource = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "atlas-invites-exporter",
            "labels": {"app.kubernetes.io/name": "atlas-invites-exporter"},
        },
        "spec": {"groups": rules["groups"]},
    }
    body = yaml.dump(resource, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=1000)
    return HEADER + body


def main():
    rendered = render()
    if sys.argv[1:] == ["--check"]:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != rendered:
            print(f"{TARGET} is out of date: run python3 {pathlib.Path(__file__).name}", file=sys.stderr)
            return 1
        print(f"{TARGET.name} matches {RULES.name}")
        return 0
    if sys.argv[1:]:
        print(__doc__, file=sys.stderr)
        return 2
    TARGET.write_text(rendered, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
