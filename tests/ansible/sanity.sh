#!/usr/bin/env bash
# ansible-test sanity on the collection, for the tests that need no containers (the list below:
# not pylint, mypy or changelog, which are slow or need more tooling). ansible-test wants
# the collection at ansible_collections/<namespace>/<name> outside any git checkout of another
# project, so it runs on a copy in a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
TESTS=(
  validate-modules ansible-doc compile yamllint pep8 runtime-metadata action-plugin-docs shebang line-endings
  no-assert no-get-exception no-illegal-filenames no-smart-quotes replace-urlopen use-argspec-type-path
  use-compat-six empty-init symlinks import ignores
)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ansible_collections/smtpwizard"
cp -r ansible_collections/smtpwizard/mail "$work/ansible_collections/smtpwizard/mail"
rm -rf "$work/ansible_collections/smtpwizard/mail/tests/output"

# ansible-test's per-test virtual environments would fetch a get-pip script from its CI host; a
# cached stand-in that takes pip from ensurepip (and the registry settings) means it never asks.
# the pip version ansible-test bootstraps (a literal in its python_requirements.py)
version=$(python3 -c 'import re, ansible_test._internal.python_requirements as r; print(re.search(r"pip=.([0-9.]+).", open(r.__file__).read())[1])' 2>/dev/null || echo 24.2)
cache=~/.ansible/test/cache/get_pip_${version//./_}.py
if [ ! -e "$cache" ]; then  # never reach out for it: tests talk to nothing but loopback and the registries
  mkdir -p "$(dirname "$cache")"
  python3 - "$cache" <<'PY'
import os, subprocess, sys
settings = {k: v for k, v in os.environ.items() if k.startswith("PIP_")}
# pip's user config file (where a registry mirror is often set) as PIP_CONFIG_FILE: ansible-test changes HOME
debug = subprocess.run([sys.executable, "-m", "pip", "config", "debug"], capture_output=True, text=True).stdout
files = [line.split(",")[0].strip() for line in debug.splitlines() if line.strip().endswith("exists: True")]
user = [f for f in files if f.startswith(os.path.expanduser("~"))]
if user and "PIP_CONFIG_FILE" not in settings:
    settings["PIP_CONFIG_FILE"] = user[-1]
text = open("tests/ansible/get_pip_offline.py").read().replace("PIP_SETTINGS: dict[str, str] = {}", f"PIP_SETTINGS = {settings!r}")
open(sys.argv[1], "w").write(text)
PY
fi

ansible-galaxy collection build --output-path "$work" "$work/ansible_collections/smtpwizard/mail" >/dev/null
cd "$work/ansible_collections/smtpwizard/mail"
args=()
for test in "${TESTS[@]}"; do args+=(--test "$test"); done
ansible-test sanity --python "$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')" "${args[@]}" "$@"
