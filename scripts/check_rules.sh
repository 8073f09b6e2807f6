#!/usr/bin/env bash
# Checks the shipped alerting rules and everything derived from them:
#   promtool check rules rules/*.yml
#   promtool test rules rules/tests/*.yml
#   scripts/gen_prometheusrule.sh --check   (deploy/kubernetes is up to date)
#   tests/integration/test_rules_static.py  (runbooks, unit-test coverage,
#                                            annotations, dashboards, kustomize)
# Needs promtool (Debian prometheus) and python3-yaml.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
promtool check rules rules/*.yml
(cd rules/tests && promtool test rules *.yml)
scripts/gen_prometheusrule.sh --check
(cd tests/integration && PGDR_SOURCE_DIR="$root" python3 -m unittest test_rules_static)
echo "check_rules: ok"
