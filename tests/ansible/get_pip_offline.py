"""Stand-in for ansible-test's get-pip bootstrap script, for machines that reach only the package
registry: pip from the Python's own ensurepip, then ``pip install`` of what ansible-test asked for,
with the pip settings of the shell that started tests/ansible/sanity.sh (ansible-test drops them).

tests/ansible/sanity.sh installs it only when ansible-test's download host cannot be reached."""

import ensurepip
import os
import subprocess
import sys

PIP_SETTINGS: dict[str, str] = {}  # filled in by sanity.sh: the PIP_* variables and pip's config files
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}  # get-pip.py's own flags, unknown to pip install

ensurepip.bootstrap(upgrade=True)
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args], env={**os.environ, **PIP_SETTINGS}))
