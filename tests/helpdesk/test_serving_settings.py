"""The serving settings (processes, threads, pool) and what they add up to.

Each case imports the settings in a fresh process with its own environment, as
gunicorn and Celery do at start-up.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRINT_SERVING = (
    "import json; from helpdesk import settings as s; "
    "from helpdesk.capacity import connection_budget; b = connection_budget(s); "
    "print(json.dumps({'pool': s.DATABASES['default'].get('OPTIONS', {}).get('pool'), "
    "'conn_max_age': s.DATABASES['default']['CONN_MAX_AGE'], 'web': b.web, "
    "'worker': b.worker, 'total': b.total}))"
)
SERVING_VARIABLES = (
    "WEB_PROCESSES",
    "WEB_THREADS",
    "SIDE_BY_SIDE_THREADS",
    "WORKER_CONCURRENCY",
    "DB_POOL",
    "DB_POOL_MIN_SIZE",
    "DB_POOL_MAX_SIZE",
    "DB_POOL_TIMEOUT",
    "DB_CONN_MAX_AGE",
)


def _settings(**variables):
    env = {k: v for k, v in os.environ.items() if k not in SERVING_VARIABLES}
    env.update(variables)
    return subprocess.run(
        [sys.executable, "-c", PRINT_SERVING],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_by_default_each_process_has_a_pool_as_large_as_its_threads():
    result = _settings()
    assert result.returncode == 0, result.stderr
    serving = json.loads(result.stdout)
    # 8 request threads + 3 side-by-side threads + 1 for websockets; a request waits 5 s
    # at most.
    assert serving["pool"] == {
        "min_size": 1,
        "max_size": 12,
        "timeout": 5.0,
        "reconnect_timeout": 5.0,
    }
    assert serving["conn_max_age"] == 0  # requests give their connection back
    # 2 web processes x 12, 2 worker processes x 1: well under PostgreSQL's 100.
    assert (serving["web"], serving["worker"], serving["total"]) == (24, 2, 26)


def test_without_the_pool_connections_are_kept_per_thread_for_db_conn_max_age():
    result = _settings(DB_POOL="0", DB_CONN_MAX_AGE="30", WEB_THREADS="4")
    assert result.returncode == 0, result.stderr
    serving = json.loads(result.stdout)
    assert serving["pool"] is None
    assert serving["conn_max_age"] == 30
    assert (serving["web"], serving["worker"]) == (2 * (4 + 3 + 1), 2)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"DB_CONN_MAX_AGE": "60"}, "DB_CONN_MAX_AGE applies only with DB_POOL=0"),
        ({"DB_POOL_MAX_SIZE": "10"}, "DB_POOL_MAX_SIZE=10 is less than WEB_THREADS + "),
        ({"DB_POOL_MIN_SIZE": "13"}, "DB_POOL_MIN_SIZE=13 must be between 0 and"),
        ({"DB_POOL_TIMEOUT": "soon"}, "DB_POOL_TIMEOUT='soon' is not a number."),
        ({"DB_POOL_TIMEOUT": "nan"}, "DB_POOL_TIMEOUT='nan' is not a finite number."),
        ({"DB_POOL_TIMEOUT": "0"}, "DB_POOL_TIMEOUT=0.0 must be positive."),
        ({"WEB_THREADS": "0"}, "WEB_THREADS=0 must be at least 1."),
        ({"WEB_PROCESSES": "two"}, "WEB_PROCESSES='two' is not an integer."),
        ({"DB_POOL": "maybe"}, "DB_POOL='maybe' is not a boolean"),
    ],
)
def test_bad_serving_values_stop_the_process_at_start(variables, message):
    result = _settings(**variables)
    assert result.returncode != 0
    assert message in result.stderr


def test_make_runs_worker_connects_per_task_without_a_pool_and_each_child_is_named():
    from helpdesk.devstack import stack_children, stack_commands

    children = stack_children(
        stack_commands(8000, beat_schedule=Path("schedule")), {"DB_POOL": "1", "DEBUG": "1"}
    )
    environments = {name: env for name, (_command, env) in children.items()}
    assert {name: env["DB_POOL"] for name, env in environments.items()} == {
        "web": "1",
        "worker": "0",
        "beat": "1",
    }
    assert {env["PGAPPNAME"] for env in environments.values()} == {
        "helpdesk-web",
        "helpdesk-worker",
        "helpdesk-beat",
    }
