"""`manage.py check --deploy` finds nothing with the production settings that
docs/security.md documents: the environment is read from the document itself, so the
two cannot drift apart."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
DOC = BASE_DIR / "docs" / "security.md"


def documented_production_environment() -> dict[str, str]:
    """The variables of the fenced block after "Production settings" in docs/security.md."""
    text = DOC.read_text()
    block = re.search(r"<!-- production-env -->\s*```sh\n(.*?)```", text, re.S)
    assert block, "docs/security.md lost its production environment block"
    environment = {}
    for line in block.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _equals, value = line.partition("=")
            environment[name] = value
    return environment


def test_check_deploy_is_clean_with_the_documented_production_settings():
    environment = documented_production_environment()
    assert {"SECRET_KEY", "BEHIND_TLS_PROXY", "BASE_DOMAIN"} <= environment.keys()
    environment["SECRET_KEY"] = secrets.token_urlsafe(50)  # the document shows a placeholder
    # Nothing of this machine's environment (DEBUG, the test database) leaks in.
    environment.update(PATH=os.environ["PATH"], HOME=os.environ.get("HOME", "/tmp"), LANG="C.UTF-8")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout
