"""Benchmark the matching rules: quality on labelled data, and cost at scale.

Run it from the repository root::

    python benchmarks/bench_matching.py quality [--seed S]
    python benchmarks/bench_matching.py scale --filings N --clues M [--real-filings]
    python benchmarks/bench_matching.py ladder [--sizes 100000,300000,1000000]

``quality`` generates labelled data sets (``benchmarks/matching_data.py``,
three seeds by default) and reports the precision and recall of every
built-in rule over all of them, at the score threshold the command line uses
by default (0.5). The design aims at
precision ≥ 0.95 and recall ≥ 0.90 for unreported interventions.

``scale`` generates about N opened filings and M clues, builds the match
input and runs every built-in rule. It reports the seconds of each step and
the peak resident set size of the process (``resource.getrusage``), which
includes the generator's own data. With ``--real-filings`` every
filing is built as a ``Filing`` value and projected with
``facts_from_filing``, and the projection time is reported on its own. The
design target is 1 M filings × 100 k clues in at most 120 s with a peak RSS
of at most 2 GiB.

``ladder`` runs ``scale`` in a fresh process for each size, with clues at a
tenth of the filings, and prints the cost per filing relative to the
smallest size, which stays near 1 when the cost grows linearly.

With ``--freeze-gc``, ``gc.freeze()`` runs after the data is generated.
Python's cyclic garbage collector walks every live object in a full
collection, so with a million filings in memory each full collection costs
seconds. Freezing takes the generated objects out of those collections,
which shows whether the collector slows the rules down.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import matching_data

from threeregs.matching import Finding, MatchInput, MatchResult, RuleRegistry

THRESHOLD = 0.5
# Stage filings per person-case in the generated data: about 3.4 closed
# stage windows per case, for each of the two filers, halved because each
# case has two filers.
_FILINGS_PER_CASE_SLOT = 3.4


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            for line in stream:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
    }


def _peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)


# --- quality -------------------------------------------------------------


def _score(predicted: set[Any], expected: set[Any]) -> dict[str, float | int]:
    hits = len(predicted & expected)
    return {
        "expected": len(expected),
        "found": len(predicted),
        "correct": hits,
        "precision": hits / len(predicted) if predicted else 1.0,
        "recall": hits / len(expected) if expected else 1.0,
    }


def _recurring_identity(finding: Finding, truth: matching_data.Truth) -> int | None:
    if finding.filing_id is not None:
        numbers = truth.record_identities.get(finding.filing_id, [])
        if numbers:
            return numbers[0]
    if finding.clue_id is not None:
        return truth.clue_identity.get(finding.clue_id)
    return None


def evaluate(result: MatchResult, truth: matching_data.Truth) -> dict[str, dict[str, Any]]:
    """Compare the findings at the threshold with the labelled truth, rule by rule."""
    findings = result.above(THRESHOLD)

    def of(rule: str) -> list[Finding]:
        return [f for f in findings if f.rule == rule]

    unreported = {(f.filing_id, f.clue_id) for f in of("unreported_intervention")}
    late = {(f.filing_id, f.intervener) for f in of("late_filing")}
    people = {f.person_id for f in of("zero_run_person")}
    offices = {f.office_code for f in of("zero_run_office")}
    recurring = {_recurring_identity(f, truth) for f in of("recurring_intervener")}
    return {
        "unreported_intervention": _score(unreported, truth.unreported),
        "late_filing": _score(late, truth.late),
        "zero_run_person": _score(people, truth.zero_run_person),
        "zero_run_office": _score(offices, truth.zero_run_office),
        "recurring_intervener": _score(recurring, truth.recurring),
    }


def quality(arguments: argparse.Namespace) -> dict[str, Any]:
    totals: dict[str, dict[str, int]] = {}
    sizes = {"filings": 0, "clues": 0, "windows": 0}
    generate_seconds = match_seconds = 0.0
    seeds = [arguments.seed + number for number in range(arguments.seeds)]
    for seed in seeds:
        started = time.perf_counter()
        data = matching_data.generate(seed=seed)
        generated = time.perf_counter()
        match_input = MatchInput(data.filings, data.clues, data.windows, directory=data.directory)
        result = RuleRegistry(entry_points=False).run(match_input)
        finished = time.perf_counter()
        generate_seconds += generated - started
        match_seconds += finished - generated
        sizes["filings"] += len(data.filings)
        sizes["clues"] += len(data.clues)
        sizes["windows"] += len(data.windows)
        for rule, score in evaluate(result, data.truth).items():
            total = totals.setdefault(rule, {"expected": 0, "found": 0, "correct": 0})
            for key in total:
                total[key] += int(score[key])

    rules = {
        rule: {
            **total,
            "precision": total["correct"] / total["found"] if total["found"] else 1.0,
            "recall": total["correct"] / total["expected"] if total["expected"] else 1.0,
        }
        for rule, total in totals.items()
    }
    return {
        "mode": "quality",
        "seeds": seeds,
        **sizes,
        "generate_seconds": round(generate_seconds, 2),
        "match_seconds": round(match_seconds, 2),
        "rules": rules,
        "machine": _machine(),
    }


# --- scale ---------------------------------------------------------------


def scale(arguments: argparse.Namespace) -> dict[str, Any]:
    people, cases = 15, 60
    per_office = people * cases * _FILINGS_PER_CASE_SLOT
    settings = matching_data.Settings(
        offices=max(6, math.ceil(arguments.filings / per_office)),
        people_per_office=people,
        cases_per_person=cases,
        clues=arguments.clues,
        silent_offices=2,
    )
    started = time.perf_counter()
    data = matching_data.generate(
        settings, seed=arguments.seed, real_filings=arguments.real_filings
    )
    generated = time.perf_counter()
    rss_generated = _peak_rss_mib()
    if arguments.freeze_gc:
        # Move every object alive now out of the collector's reach, so that a
        # full collection no longer walks the generated data.
        gc.freeze()

    cpu_started = time.process_time()
    match_input = MatchInput(data.filings, data.clues, data.windows, directory=data.directory)
    indexed = time.perf_counter()
    registry = RuleRegistry(entry_points=False)
    timings: dict[str, float] = {}
    findings = 0
    for rule in registry.rules():
        rule_started = time.perf_counter()
        findings += len(registry.run(match_input, rules=[rule.name]).findings)
        timings[rule.name] = round(time.perf_counter() - rule_started, 2)
    finished = time.perf_counter()
    cpu_seconds = time.process_time() - cpu_started

    match_seconds = finished - generated
    return {
        "mode": "scale",
        "freeze_gc": arguments.freeze_gc,
        "full_collections": gc.get_stats()[2]["collections"],
        "filings": len(data.filings),
        "clues": len(data.clues),
        "windows": len(data.windows),
        "records": sum(1 for f in data.filings if f.records),
        "findings": findings,
        "generate_seconds": round(generated - started, 2),
        "projection_seconds": round(data.projection_seconds, 2),
        "input_seconds": round(indexed - generated, 2),
        "rule_seconds": timings,
        "match_seconds": round(match_seconds, 2),
        "match_microseconds_per_filing": round(match_seconds / len(data.filings) * 1e6, 2),
        "match_cpu_seconds": round(cpu_seconds, 2),
        "match_cpu_microseconds_per_filing": round(cpu_seconds / len(data.filings) * 1e6, 2),
        "peak_rss_mib_after_generation": round(rss_generated, 1),
        "peak_rss_mib": round(_peak_rss_mib(), 1),
        "machine": _machine(),
    }


def ladder(arguments: argparse.Namespace) -> dict[str, Any]:
    runs = []
    for size in (int(s) for s in arguments.sizes.split(",")):
        command = [
            sys.executable,
            __file__,
            "scale",
            "--filings",
            str(size),
            "--clues",
            str(size // 10),
            "--seed",
            str(arguments.seed),
            "--json",
        ]
        if arguments.real_filings:
            command.append("--real-filings")
        if arguments.freeze_gc:
            command.append("--freeze-gc")
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        run = json.loads(output)
        runs.append(run)
        print(
            f"{run['filings']:>9} filings {run['clues']:>7} clues: match {run['match_seconds']} s "
            f"({run['match_cpu_seconds']} s CPU), "
            f"projection {run['projection_seconds']} s, peak RSS {run['peak_rss_mib']} MiB",
            file=sys.stderr,
        )
    base = runs[0]["match_microseconds_per_filing"]
    cpu_base = runs[0]["match_cpu_microseconds_per_filing"]
    for run in runs:
        run["cost_ratio_per_filing"] = round(run["match_microseconds_per_filing"] / base, 2)
        run["cpu_ratio_per_filing"] = round(run["match_cpu_microseconds_per_filing"] / cpu_base, 2)
    return {"mode": "ladder", "runs": runs}


# --- output --------------------------------------------------------------


def _print(report: dict[str, Any]) -> None:
    if report["mode"] == "quality":
        print(
            f"{len(report['seeds'])} data sets: {report['filings']} filings, {report['clues']} "
            f"clues, generated in {report['generate_seconds']} s, matched in "
            f"{report['match_seconds']} s"
        )
        print(
            f"{'rule':<26}{'expected':>9}{'found':>7}{'correct':>8}{'precision':>10}{'recall':>8}"
        )
        for rule, score in report["rules"].items():
            print(
                f"{rule:<26}{score['expected']:>9}{score['found']:>7}{score['correct']:>8}"
                f"{score['precision']:>10.3f}{score['recall']:>8.3f}"
            )
    elif report["mode"] == "scale":
        for key, value in report.items():
            print(f"{key}: {value}")
    else:
        print(
            f"{'filings':>9}{'clues':>8}{'match s':>9}{'µs/filing':>11}{'ratio':>7}{'peak MiB':>10}"
        )
        for run in report["runs"]:
            print(
                f"{run['filings']:>9}{run['clues']:>8}{run['match_seconds']:>9}"
                f"{run['match_microseconds_per_filing']:>11}{run['cost_ratio_per_filing']:>7}"
                f"{run['peak_rss_mib']:>10}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
    modes = parser.add_subparsers(dest="mode", required=True)

    quality_parser = modes.add_parser("quality", help="Precision and recall on labelled data.")
    quality_parser.add_argument("--seed", type=int, default=20240301, help="First seed.")
    quality_parser.add_argument(
        "--seeds", type=int, default=3, help="Number of data sets, with consecutive seeds."
    )

    scale_parser = modes.add_parser("scale", help="Time and memory at one size.")
    scale_parser.add_argument("--filings", type=int, default=100_000)
    scale_parser.add_argument("--clues", type=int, default=10_000)
    scale_parser.add_argument("--seed", type=int, default=20240301)
    scale_parser.add_argument("--real-filings", action="store_true")
    scale_parser.add_argument("--freeze-gc", action="store_true")
    scale_parser.add_argument("--json", action="store_true", dest="json_output")

    ladder_parser = modes.add_parser("ladder", help="Scale runs at growing sizes.")
    ladder_parser.add_argument("--sizes", default="100000,300000,1000000")
    ladder_parser.add_argument("--seed", type=int, default=20240301)
    ladder_parser.add_argument("--real-filings", action="store_true")
    ladder_parser.add_argument("--freeze-gc", action="store_true")

    arguments = parser.parse_args()
    run = {"quality": quality, "scale": scale, "ladder": ladder}[arguments.mode]
    report = run(arguments)
    if arguments.json or getattr(arguments, "json_output", False):
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print(report)


if __name__ == "__main__":
    main()
