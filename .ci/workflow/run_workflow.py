#!/usr/bin/env python3
"""Runs a GitHub Actions workflow's `run:` steps on this machine, as the runner would.

Why this exists: examples/github-actions/paperwire.yml must work the day someone forks the
repository, but GitHub is not reachable from CI. This executes its one job's `run:` steps in
order, in a git clone standing in for the checkout, with GitHub's conventions: `bash
--noprofile --norc -eo pipefail` for `shell: bash`; the GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH
files between steps; env from the workflow, the job and the step; `${{ }}` expressions over
`secrets`, `inputs`, `vars`, `github`, `runner` and `steps.<id>.outputs/outcome`; `if:` with
always(), success(), failure(), cancelled(), !, &&, ||, ==, != and parentheses. An expression it
does not understand is an error, so the workflow cannot quietly grow past what is checked.

`uses:` steps (checkout, cache, Pages) are skipped and said so; so are the steps whose id is in
--skip (the build, replaced by --path; the keepalive, which calls GitHub's API).

Usage:
  run_workflow.py WORKFLOW --workspace DIR [--event schedule|workflow_dispatch]
      [--input NAME=VALUE] [--secret NAME=VALUE] [--override-env NAME=VALUE]
      [--skip ID] [--path DIR] [--repository OWNER/NAME]
Exits 0 when the job succeeded, 1 when it failed; prints each step's outcome.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

import yaml


class ExpressionError(Exception):
    pass


TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\))|"
    r"(?P<call>[A-Za-z_][\w-]*)\(\s*\)|(?P<ref>[A-Za-z_][\w.-]*)|(?P<num>\d+))"
)


class Evaluator:
    """A small subset of GitHub's expression language, enough for the workflow it checks."""

    def __init__(self, contexts, status):
        self.contexts = contexts
        self.status = status  # 'success' or 'failure'

    def tokens(self, text):
        pos, out = 0, []
        text = text.strip()
        while pos < len(text):
            m = TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise ExpressionError(f"cannot read `{text[pos:]}` in `{text}`")
            kind = m.lastgroup
            out.append((kind, m.group(kind)))
            pos = m.end()
        return out

    def evaluate(self, text):
        self.toks = self.tokens(text)
        self.i = 0
        value = self.or_expr()
        if self.i != len(self.toks):
            raise ExpressionError(f"unexpected `{self.toks[self.i][1]}` in `{text}`")
        return value

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def or_expr(self):
        value = self.and_expr()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_expr()
            value = value if truthy(value) else right
        return value

    def and_expr(self):
        value = self.cmp_expr()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.cmp_expr()
            value = right if truthy(value) else value
        return value

    def cmp_expr(self):
        value = self.unary()
        while self.peek() in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            right = self.unary()
            equal = str(value).lower() == str(right).lower()
            value = equal if op == "==" else not equal
        return value

    def unary(self):
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.atom()

    def atom(self):
        kind, text = self.take()
        if kind == "op" and text == "(":
            value = self.or_expr()
            if self.take() != ("op", ")"):
                raise ExpressionError("missing `)`")
            return value
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return text
        if kind == "call":
            return {
                "always": True,
                "success": self.status == "success",
                "failure": self.status == "failure",
                "cancelled": False,
            }.get(text) if text in ("always", "success", "failure", "cancelled") else self.unknown(text + "()")
        if kind == "ref":
            if text in ("true", "false"):
                return text == "true"
            return self.lookup(text)
        raise ExpressionError(f"unexpected `{text}`")

    def lookup(self, ref):
        parts = ref.split(".")
        value = self.contexts
        for p in parts:
            if not isinstance(value, dict):
                raise ExpressionError(f"`{ref}` does not name a value")
            if p not in value:
                if parts[0] in ("secrets", "inputs", "vars", "steps"):
                    return ""
                raise ExpressionError(f"`{ref}` is not known here")
            value = value[p]
        return value

    def unknown(self, what):
        raise ExpressionError(f"`{what}` is not supported by this runner")


def truthy(v):
    return v not in (False, None, "", 0)


EXPR = re.compile(r"\$\{\{(.*?)\}\}")


def interpolate(text, ev):
    def sub(m):
        v = ev.evaluate(m.group(1))
        if v is True:
            return "true"
        if v is False:
            return "false"
        return str(v)

    return EXPR.sub(sub, str(text))


def condition(expr, ev):
    """An `if:` value: implicit ${{ }}, and success() unless a status function is named."""
    if expr is None:
        return ev.status == "success"
    text = str(expr).strip()
    m = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.S)
    if m:
        text = m.group(1)
    if not re.search(r"\b(always|success|failure|cancelled)\(", text):
        text = f"success() && ({text})"
    return truthy(ev.evaluate(text))


def read_kv_file(path):
    """GITHUB_OUTPUT / GITHUB_ENV: NAME=value lines and NAME<<DELIM heredocs."""
    out = {}
    if not os.path.exists(path):
        return out
    lines = open(path, encoding="utf-8").read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            body = []
            i += 1
            while i < len(lines) and lines[i] != delim:
                body.append(lines[i])
                i += 1
            out[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
        i += 1
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workflow")
    ap.add_argument("--workspace", required=True)
    ap.add_argument("--event", default="workflow_dispatch")
    ap.add_argument("--input", action="append", default=[])
    ap.add_argument("--secret", action="append", default=[])
    ap.add_argument("--override-env", action="append", default=[])
    ap.add_argument("--skip", action="append", default=[])
    ap.add_argument("--path", action="append", default=[])
    ap.add_argument("--repository", default="example/paperwire-digest")
    args = ap.parse_args()
    pairs = lambda items: dict(i.split("=", 1) for i in items)

    wf = yaml.safe_load(open(args.workflow, encoding="utf-8"))
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    jobs = wf["jobs"]
    if len(jobs) != 1:
        sys.exit(f"expected one job, found {len(jobs)}")
    job_name, job = next(iter(jobs.items()))
    inputs = {}
    dispatch = (triggers or {}).get("workflow_dispatch") or {}
    for name, spec in (dispatch.get("inputs") or {}).items():
        inputs[name] = str(spec.get("default", ""))
    inputs.update(pairs(args.input))

    workspace = os.path.abspath(args.workspace)
    temp = tempfile.mkdtemp(prefix="runner-temp-")
    workflow_file = os.path.basename(args.workflow)
    base_env = dict(os.environ)
    base_env.update({
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": workspace,
        "GITHUB_REPOSITORY": args.repository,
        "GITHUB_EVENT_NAME": args.event,
        "GITHUB_RUN_ID": "1",
        "GITHUB_WORKFLOW_REF": f"{args.repository}/.github/workflows/{workflow_file}@refs/heads/main",
        "RUNNER_TEMP": temp,
        "RUNNER_OS": "Linux",
    })
    extra_path = [os.path.abspath(p) for p in args.path]
    contexts = {
        "secrets": pairs(args.secret),
        "inputs": inputs,
        "vars": {},
        "github": {"event_name": args.event, "token": "local-token", "repository": args.repository,
                   "workspace": workspace, "run_id": "1"},
        "runner": {"os": "Linux", "temp": temp},
        "steps": {},
        "env": {},
    }
    status = "success"
    env_from_files = {}
    shell = ((wf.get("defaults") or {}).get("run") or {}).get("shell", "bash")
    if shell != "bash":
        sys.exit(f"only `shell: bash` is supported, not {shell}")

    for n, step in enumerate(job["steps"], 1):
        name = step.get("name") or step.get("uses") or f"step {n}"
        sid = step.get("id")
        ev = Evaluator(contexts, status)
        record = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
        if sid:
            contexts["steps"][sid] = record
        if "uses" in step:
            print(f"-- skip (uses {step['uses']}): {name}")
            continue
        if sid in args.skip:
            print(f"-- skip (--skip {sid}): {name}")
            continue
        if not condition(step.get("if"), ev):
            print(f"-- not run (if: {step.get('if')!s}): {name}")
            continue
        env = dict(base_env)
        for scope in (wf.get("env") or {}, job.get("env") or {}):
            for k, v in scope.items():
                env[k] = interpolate(v, ev)
        env.update(env_from_files)
        for k, v in (step.get("env") or {}).items():
            env[k] = interpolate(v, ev)
        env.update(pairs(args.override_env))
        env["PATH"] = os.pathsep.join(extra_path + [base_env["PATH"]])
        files = {}
        for var in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY"):
            fd, files[var] = tempfile.mkstemp(prefix=var.lower(), dir=temp)
            os.close(fd)
            env[var] = files[var]
        script = os.path.join(temp, f"step{n}.sh")
        with open(script, "w", encoding="utf-8") as f:
            f.write(interpolate(step["run"], ev))
        print(f"-- run: {name}", flush=True)
        rc = subprocess.call(["bash", "--noprofile", "--norc", "-eo", "pipefail", script],
                             cwd=workspace, env=env)
        record["outputs"] = read_kv_file(files["GITHUB_OUTPUT"])
        env_from_files.update(read_kv_file(files["GITHUB_ENV"]))
        for line in open(files["GITHUB_PATH"], encoding="utf-8").read().splitlines():
            if line.strip():
                extra_path.insert(0, line.strip())
        record["outcome"] = record["conclusion"] = "success" if rc == 0 else "failure"
        print(f"   {record['outcome']} (exit {rc}), outputs {record['outputs']}", flush=True)
        if rc != 0:
            status = "failure"
    print(f"job {job_name}: {status}")
    sys.exit(0 if status == "success" else 1)


if __name__ == "__main__":
    try:
        main()
    except ExpressionError as e:
        sys.exit(f"run_workflow.py: {e}")
