"""bench/load/: its section of RESULTS.md, written without touching the others."""

from bench import loadgen
from bench.load.report import SECTION_TITLE, LoadResult, replace_section, report_lines, targets
from bench.load.stack import ConnectionSamples

RESULTS = """# Benchmark results

## Machine and setup

- Machine: 2 CPUs.

## Figures

| target | p50 |
|---|---|
| queue | 40 |

## Health scores

Ten thousand organizations.

Whole run: 9.0 minutes.
"""


def _result(errors: int = 0, after: int = 22) -> LoadResult:
    def measured(latencies_ms, errors=0):
        return loadgen.Result([ms / 1000 for ms in latencies_ms], 10.0, errors=errors)

    during = ConnectionSamples()
    during.add([("helpdesk-web", "idle", 18), ("helpdesk-web", "active", 4)])
    during.add([("helpdesk-worker", "active", 2), ("helpdesk-web", "idle", 20)])
    return LoadResult(
        clients=50,
        seconds=10.0,
        by_kind={
            "help center": measured([100, 200, 300]),
            "agents": measured([150, 250], errors=errors),
            "new requests": measured([400]),
        },
        overall=measured([100, 150, 200, 250, 300, 400], errors=errors),
        statuses={"500": errors} if errors else {},
        during=during,
        after={"helpdesk-web": after},
        settle=5.0,
        budget={
            "web_processes": 2,
            "per_web_process": 11,
            "worker_processes": 2,
            "per_worker_process": 2,
            "threads": 8,
            "side_by_side": 3,
            "pool_min": 1,
            "pool_timeout": 5.0,
            "total": 26,
            "describe": "at most 26 database connections",
        },
        max_connections="100",
        signed_in=12,
        busy_before=0.05,
        other_cpu=0.02,
        port=8123,
        finished="2026-12-06 12:00 UTC",
    )


def test_the_section_is_added_before_the_closing_line_and_the_others_are_kept():
    text = replace_section(RESULTS, SECTION_TITLE, ["First run.", ""])
    assert text.startswith(RESULTS.split("Whole run:")[0])
    assert text.endswith(f"## {SECTION_TITLE}\n\nFirst run.\n\nWhole run: 9.0 minutes.\n")


def test_a_second_run_replaces_its_section_in_place():
    once = replace_section(RESULTS, SECTION_TITLE, ["First run."])
    twice = replace_section(once, SECTION_TITLE, ["Second run.", "| a | b |"])
    assert "First run." not in twice
    assert twice == once.replace("First run.\n", "Second run.\n| a | b |\n")
    assert twice.count(f"## {SECTION_TITLE}") == 1


def test_a_section_in_the_middle_is_replaced_up_to_the_next_section():
    text = RESULTS.replace("## Health scores", f"## {SECTION_TITLE}\n\nOld.\n\n## Health scores")
    replaced = replace_section(text, SECTION_TITLE, ["New."])
    assert replaced == text.replace("Old.", "New.")


def test_the_report_gives_errors_percentiles_throughput_and_connections():
    lines = report_lines(_result(), "make bench-load")
    text = "\n".join(lines)
    assert "| **all 50** | 6 | 0 | 225 | 400 | 0.6 |" in text
    assert "| 20 agent queue" in text and "| 10 new requests" in text
    assert (
        "at the peak **22 open** (the highest of each: helpdesk-web 22, helpdesk-worker 2)" in text
    )
    assert "**22 open** (helpdesk-web 22)" in text
    assert "Unexpected answers" not in text


def test_targets_are_no_errors_and_no_more_connections_than_the_settings_allow():
    assert [ok for _target, _measured, ok in targets(_result())] == [True, True]
    assert [ok for _t, _m, ok in targets(_result(errors=3, after=30))] == [False, False]
    lines = "\n".join(report_lines(_result(errors=3), "make bench-load"))
    assert "Unexpected answers: 3 x 500" in lines
