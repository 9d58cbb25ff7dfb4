#!/usr/bin/python3
"""Checks docker/k8s's manifests offline, without a cluster.

1. Every object goes through the Kubernetes API's own models (python3-kubernetes, the
   official client's generated classes): deserialised into V1Deployment, V1Service or
   V1Job and serialised back, which must give the same object. A misspelt or misplaced
   field is dropped on the way and shows as a difference; a missing required field fails
   the deserialisation.
2. What the models cannot know: the Service selects the Deployment's pods and names its
   port; the Job is Indexed with parallelism = completions; every $(NAME) in a container's
   command or args is one of its env variables; the generators start at $(START_AT), are
   labelled by $(JOB_COMPLETION_INDEX), target the Service and write JSON to stdout.

Usage: check_k8s_manifests.py MANIFESTS.yaml [--commands OUT.json]
With --commands, writes the server's command and the generator's command, args and env,
for running them outside a cluster (tests/multihost/k8s_test.sh).
"""
import json
import re
import sys

import yaml

try:
    from kubernetes.client import ApiClient
except ImportError:
    print("SKIPPED: python3-kubernetes is not installed (Debian: apt-get install python3-kubernetes)")
    sys.exit(77)

MODELS = {("apps/v1", "Deployment"): "V1Deployment", ("v1", "Service"): "V1Service",
          ("batch/v1", "Job"): "V1Job"}
problems = []


def check(condition, what):
    if not condition:
        problems.append(what)
    return condition


def differences(a, b, path=""):
    """Where b (the round trip) differs from a (the manifest)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in a:
            if key not in b:
                out.append("%s.%s: not a field of the Kubernetes API here" % (path, key))
            else:
                out += differences(a[key], b[key], "%s.%s" % (path, key))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, "%s[%d]" % (path, i))]
    return [] if a == b else ["%s: %r became %r" % (path, a, b)]


def round_trip(obj):
    model = MODELS.get((obj.get("apiVersion"), obj.get("kind")))
    name = "%s/%s" % (obj.get("kind"), obj.get("metadata", {}).get("name"))
    if not check(model, "%s: unexpected apiVersion/kind" % name):
        return
    client = ApiClient()
    try:
        typed = client._ApiClient__deserialize(obj, model)  # the client's own deserialiser
    except (ValueError, TypeError) as e:
        problems.append("%s: %s" % (name, e))
        return
    for d in differences(obj, client.sanitize_for_serialization(typed)):
        problems.append(name + d)


def references(strings):
    return {m for s in strings for m in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", s)}


def main():
    docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
    for d in docs:
        round_trip(d)
    by_kind = {d["kind"]: d for d in docs}
    if not all(check(k in by_kind, "no %s" % k) for k in ("Deployment", "Service", "Job")):
        return report()
    deployment, service, job = by_kind["Deployment"], by_kind["Service"], by_kind["Job"]

    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    check(selector.items() <= pod_labels.items(), "Deployment: its selector does not match its pods")
    check(service["spec"]["selector"].items() <= pod_labels.items(),
          "Service: its selector does not match the Deployment's pods")
    server = deployment["spec"]["template"]["spec"]["containers"][0]
    port_names = {p.get("name"): p["containerPort"] for p in server.get("ports", [])}
    service_port = service["spec"]["ports"][0]
    target = service_port.get("targetPort", service_port["port"])
    check(target in port_names or target in port_names.values(),
          "Service: targetPort %r is no port of the server container" % target)
    check("--port" in server["command"] and
          int(server["command"][server["command"].index("--port") + 1]) == port_names.get(target, target),
          "server: --port is not the port the Service targets")

    spec = job["spec"]
    check(spec.get("completionMode") == "Indexed", "Job: completionMode is not Indexed")
    check(spec.get("parallelism") == spec.get("completions"), "Job: parallelism differs from completions")
    pod = spec["template"]["spec"]
    check(pod.get("restartPolicy") == "Never", "Job: restartPolicy is not Never (a restarted generator starts late)")
    generator = pod["containers"][0]
    env = {e["name"]: e for e in generator.get("env", [])}
    check(len(env) == len(generator.get("env", [])), "Job: an env variable is declared twice")
    argv = generator.get("command", []) + generator.get("args", [])
    for name in sorted(references(argv) - set(env)):
        problems.append("Job: $(%s) is used but not in env" % name)
    args = generator.get("args", [])

    def value_after(flag):
        return args[args.index(flag) + 1] if check(flag in args, "Job: no %s" % flag) else None

    check(value_after("--start-at") == "$(START_AT)", "Job: --start-at is not $(START_AT)")
    check("$(JOB_COMPLETION_INDEX)" in (value_after("--label") or ""), "Job: --label lacks the completion index")
    check(value_after("--host") == service["metadata"]["name"], "Job: --host is not the Service's name")
    check(value_after("--port") == str(service_port["port"]), "Job: --port is not the Service's port")
    check(value_after("--json") == "-", "Job: results do not go to stdout (--json -)")
    index = env.get("JOB_COMPLETION_INDEX", {})
    check(index.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") ==
          "metadata.annotations['batch.kubernetes.io/job-completion-index']",
          "Job: JOB_COMPLETION_INDEX does not come from the completion-index annotation")
    start = env.get("START_AT", {}).get("value", "")
    check(re.fullmatch(r"[0-9]+(\.[0-9]+)?", start), "Job: START_AT %r is not an epoch time" % start)

    if len(sys.argv) > 3 and sys.argv[2] == "--commands":
        with open(sys.argv[3], "w") as out:
            json.dump({"server": server["command"] + server.get("args", []),
                       "generator": argv,
                       "env": {k: v.get("value") for k, v in env.items()},
                       "generators": spec["completions"]}, out)
    return report()


def report():
    for p in problems:
        print("FAILED:", p)
    if not problems:
        print("manifests ok: Deployment, Service and Job pass the API models' round trip and the checks")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
