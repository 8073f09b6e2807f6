#!/usr/bin/env python3
"""Agreement of `pgdr_exporter check-rules` / `test-rules` with promtool.

Usage: scripts/rules_agreement.py [--exporter PATH] [--promtool PATH] [-v] DIR...

Every *.yml / *.yaml file under DIR is either a unit-test file (it has a
top-level `tests:` or `rule_files:` key: both tools run `test rules` on it,
in its directory) or a rule file (`check rules`). The two tools agree on a
file when they exit alike and their output falls in the same error class
(see classify). Prints the agreement rate, the rule and group counts of the
rule files promtool accepts, and every disagreement grouped by class pair.
Exit status: 0 when every file agrees, 1 otherwise.

Standard library only; the corpus itself is not part of the repository
(docs/evaluator.md lists the public sources it was built from).
"""

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

TEST_KEYS = re.compile(r"^(tests|rule_files|evaluation_interval):", re.M)
GROUPS_KEY = re.compile(r"^groups:", re.M)

# (class, pattern) in order: the first pattern that matches the output wins.
# Unit-test classes come first: a test file's own rule-file errors are
# reported through them ("rule-load") before the generic check-rules ones.
CLASSES = [
    ("duplicate-lint", re.compile(r"duplicate rule\(s\) found")),
    ("test-failed", re.compile(r"^\s+(expr|alertname): ", re.M)),
    ("template", re.compile(r"template: |error (parsing|executing) template|function \"\w+\" not defined"
                            r"|unexpected .* in (command|operand)")),
    ("yaml", re.compile(r"(?<![\w.])yaml: (?!unmarshal errors)|did not find expected|mapping values are not"
                        r"|found character that cannot|could not find expected|end of map not found"
                        r"|end of sequence not found|illegal map value|bad file|invalid node"
                        r"|cannot unmarshal|yaml-cpp")),
    ("unknown-field", re.compile(r"field \S+ not found in type")),
    ("expr-parse", re.compile(r"could not parse expression|parse error|1:\d+: ")),
    ("duration", re.compile(r"not a valid duration|unknown unit|time: invalid duration")),
    ("group", re.compile(r"groupname|Groupname")),
    ("rule-field", re.compile(r"one of 'record' or 'alert'|only one of 'record' and 'alert'"
                              r"|field 'expr' must be set|invalid field|invalid recording rule name"
                              r"|invalid (label|annotation) name")),
    ("input-series", re.compile(r"input_series|series|bad input")),
    ("no-file", re.compile(r"no such file|cannot find|does not exist|no files? match", re.I)),
]


def classify(code, output):
    if code == 0:
        return "duplicate-lint" if CLASSES[0][1].search(output) else "ok"
    for name, pattern in CLASSES:
        if pattern.search(output):
            return name
    return "other"


def kind(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    if TEST_KEYS.search(text) and not GROUPS_KEY.search(text):
        return "test"
    return "rules"


def run(cmd, cwd):
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900,
                              errors="replace")
        return proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired:
        return -1, "timeout"
    except OSError as e:
        return -2, str(e)


# Go template actions and functions pgdr's template engine does not know yet
# (the templates branch adds them): --strip-template-actions removes every
# {{ ... }} that holds an action keyword or one of those functions from a
# copy of the corpus, so that the disagreements they hide show.
ACTION = re.compile(r"\{\{(?:(?!\}\}).)*?(?<![$.\w])(?:if|else|end|with|range|define|template|block"
                    r"|query|first|value|label|strvalue|sortByLabel|args|tmpl|safeHtml|toTime"
                    r"|parseDuration|stripPort|stripDomain|graphLink|tableLink|pathPrefix|len|index"
                    r"|html|js|urlquery|print|println|eq|ne|lt|le|gt|ge|and|or|not)(?![\w])"
                    r"(?:(?!\}\}).)*\}\}", re.S)


def strip_template_actions(src, dst):
    shutil.copytree(src, dst, symlinks=True)
    for root, _, names in os.walk(dst):
        for n in names:
            if n.endswith((".yml", ".yaml")):
                p = os.path.join(root, n)
                with open(p, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                with open(p, "w", encoding="utf-8") as f:
                    f.write(ACTION.sub("", text))


SUCCESS = re.compile(r"SUCCESS: (\d+) rules found")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="+")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--exporter", default=os.path.join(here, "..", "build", "exporter",
                                                      "pgdr_exporter"))
    ap.add_argument("--promtool", default=shutil.which("promtool") or "promtool")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--strip-template-actions", action="store_true",
                    help="compare on a copy without Go template actions and query calls")
    ap.add_argument("-v", "--verbose", action="store_true", help="print both outputs of each"
                    " disagreement")
    args = ap.parse_args()
    args.exporter = os.path.abspath(args.exporter)

    dirs = args.dirs
    if args.strip_template_actions:
        tmp = tempfile.mkdtemp(prefix="rules_agreement_")
        dirs = []
        for i, d in enumerate(args.dirs):
            dirs.append(os.path.join(tmp, str(i)))
            strip_template_actions(d, dirs[-1])
    paths = []
    for d in dirs:
        for root, _, names in os.walk(d):
            paths += [os.path.join(root, n) for n in names if n.endswith((".yml", ".yaml"))]
    paths.sort()

    totals = collections.Counter()
    agreed = collections.Counter()
    classes = collections.Counter()
    disagreements = collections.defaultdict(list)
    rules = 0
    def both(path):
        k = kind(path)
        if k is None:
            return path, None, None, None
        cwd, name = os.path.split(path)
        if k == "test":
            return (path, k, run([args.exporter, "test-rules", name], cwd),
                    run([args.promtool, "test", "rules", name], cwd))
        return (path, k, run([args.exporter, "check-rules", name], cwd),
                run([args.promtool, "check", "rules", name], cwd))

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(both, paths))
    for path, k, ours, theirs in results:
        if k is None:
            continue
        if k == "rules":
            m = SUCCESS.search(theirs[1])
            rules += int(m.group(1)) if m else 0
        our_class, their_class = classify(*ours), classify(*theirs)
        totals[k] += 1
        classes[(k, their_class)] += 1
        if ours[0] == theirs[0] and our_class == their_class:
            agreed[k] += 1
        else:
            key = f"{k}: promtool {their_class} (exit {theirs[0]}) / pgdr {our_class} (exit {ours[0]})"
            disagreements[key].append((path, ours[1], theirs[1]))

    print("promtool's classes:")
    for (k, c), n in sorted(classes.items()):
        print(f"  {k:5} {c:15} {n}")
    print(f"rules in the rule files promtool accepts: {rules}")
    for k in ("rules", "test"):
        if totals[k]:
            print(f"{k:5} files: {agreed[k]}/{totals[k]} agree ({100.0 * agreed[k] / totals[k]:.1f} %)")
    total, ok = sum(totals.values()), sum(agreed.values())
    print(f"all   files: {ok}/{total} agree ({100.0 * ok / max(total, 1):.1f} %)")
    for key in sorted(disagreements):
        items = disagreements[key]
        print(f"\n== {key}: {len(items)} file(s)")
        for path, our_out, their_out in items:
            print(f"  {path}")
            if args.verbose:
                print("    --- promtool\n" + indent(their_out) + "\n    --- pgdr\n" + indent(our_out))
    if args.strip_template_actions:
        shutil.rmtree(tmp)
    return 0 if ok == total else 1


def indent(text, limit=1500):
    text = text if len(text) <= limit else text[:limit] + "\n[...]"
    return "\n".join("      " + line for line in text.splitlines())


if __name__ == "__main__":
    sys.exit(main())
