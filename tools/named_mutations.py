"""Plant each named bug by hand, run the test that must catch it, and put the code back.

These are bugs that once survived the whole suite (docs/testing.md). Each is a one-line change to
the source; the named test must fail with it. Run from the project root::

    python tools/named_mutations.py            # all of them
    python tools/named_mutations.py M3 M7      # some

Exit code 1 if any mutation survives. The source file is restored even when interrupted.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    """A planted bug: ``old`` becomes ``new`` in ``path``; every test in ``tests`` must fail.

    ``also`` holds other (old, new) spellings of the same bug, for when the code around it is
    rewritten; the first ``old`` found exactly once is used.
    """

    key: str
    what: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    also: tuple[tuple[str, str], ...] = ()


MUTATIONS = (
    Mutation(
        "M1",
        "bcr_with_wider without the wider benefits",
        "evaluation/appraisal/measures.py",
        "bcr_w = (pv_benefits + pv_wider) / pv_costs",
        "bcr_w = pv_benefits / pv_costs",
        (
            "tests/test_appraisal_figures.py::test_wider_benefit_figures_recomputed_from_the_lines",
            "tests/test_appraisal_figures.py::"
            "test_wider_benefit_figures_equal_a_fresh_appraisal_counting_them_as_core",
        ),
    ),
    Mutation(
        "M2",
        "npsv_with_wider without the wider benefits",
        "evaluation/appraisal/measures.py",
        "npsv_with_wider=pv_benefits + pv_wider - pv_costs,",
        "npsv_with_wider=pv_benefits - pv_costs,",
        (
            "tests/test_appraisal_figures.py::test_wider_benefit_figures_recomputed_from_the_lines",
            "tests/test_appraisal_figures.py::"
            "test_wider_benefit_figures_equal_a_fresh_appraisal_counting_them_as_core",
        ),
    ),
    Mutation(
        "M3",
        "pathfinder appraise prints PV costs as the NPSV",
        "evaluation/commands/appraise.py",
        'f"  NPSV                {_m(s.npsv):>12}",',
        'f"  NPSV                {_m(s.pv_costs):>12}",',
        ("tests/test_reports_read_back.py::test_appraise_text_report_shows_the_library_figures",),
    ),
    Mutation(
        "M4",
        "pathfinder estimate prints the interval ends swapped",
        "evaluation/commands/estimate.py",
        "CI [{o.ci_low:.4f}, {o.ci_high:.4f}]",
        "CI [{o.ci_high:.4f}, {o.ci_low:.4f}]",
        ("tests/test_reports_read_back.py::test_estimate_text_output_of_a_moderate_p_value",),
    ),
    Mutation(
        "M5",
        "pathfinder estimate prints 1 - p",
        "evaluation/commands/estimate.py",
        "p = {o.p_value:.4f}",
        "p = {1 - o.p_value:.4f}",
        ("tests/test_reports_read_back.py::test_estimate_text_output_of_a_moderate_p_value",),
    ),
    Mutation(
        "M6",
        "a tornado row with low and high swapped",
        "evaluation/appraisal/uncertainty.py",
        '"npsv_at_low": n_lo,\n                "npsv_at_high": n_hi,',
        '"npsv_at_low": n_hi,\n                "npsv_at_high": n_lo,',
        (
            "tests/test_appraisal_figures.py::"
            "test_every_tornado_row_at_both_ends_is_a_fresh_appraisal",
        ),
    ),
    Mutation(
        "M7",
        "a tornado row with zero swing",
        "evaluation/appraisal/uncertainty.py",
        '"npsv_at_high": n_hi,',
        '"npsv_at_high": n_lo,',
        (
            "tests/test_appraisal_figures.py::"
            "test_every_tornado_row_at_both_ends_is_a_fresh_appraisal",
        ),
    ),
    Mutation(
        "M8",
        "write_outputs writes an NPSV of 0 into appraisal.json",
        "evaluation/pipeline.py",
        "json.dumps(result.appraisal.to_dict(), indent=2)",
        'json.dumps({**result.appraisal.to_dict(), "npsv": 0}, indent=2)',
        ("tests/test_reports_read_back.py::test_run_writes_the_library_appraisal_json",),
        also=(
            (
                "json_text(result.appraisal.to_dict())",
                'json_text({**result.appraisal.to_dict(), "npsv": 0})',
            ),
        ),
    ),
    Mutation(
        "M9",
        "the event study's CR3 pre-trend test uses the CR1 covariance",
        "evaluation/estimators/event_study.py",
        '    if name == "cr3":\n        vcov = cr3_vcov(jackknife_estimates(lp))\n    else:\n'
        "        vcov = v1",
        '    if name == "cr3":\n        vcov = v1\n    else:\n        vcov = v1',
        (
            "tests/test_inference_brute_force.py::"
            "test_event_study_cr3_pretrend_equals_a_leave_one_cluster_out_loop",
        ),
    ),
)


def run(mutation: Mutation) -> bool:
    """Plant the mutation, run its tests, restore the file; return whether every test failed."""
    path = ROOT / mutation.path
    source = path.read_text(encoding="utf-8")
    spellings = ((mutation.old, mutation.new), *mutation.also)
    edit = next(((o, n) for o, n in spellings if source.count(o) == 1), None)
    if edit is None:
        print(f"{mutation.key}: the code to mutate was not found once in {mutation.path}")
        return False
    caught = True
    try:
        path.write_text(source.replace(*edit), encoding="utf-8")
        for test in mutation.tests:
            cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", test]
            done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
            verdict = "caught" if done.returncode == 1 else "SURVIVED"
            caught &= done.returncode == 1
            print(f"{mutation.key} {mutation.what}: {verdict} by {test.split('::')[1]}")
    finally:
        path.write_text(source, encoding="utf-8")
    return caught


def main(argv: list[str]) -> int:
    """Run the mutations named in ``argv`` (all by default); 0 if every one is caught."""
    chosen = [m for m in MUTATIONS if not argv or m.key in argv]
    results = [run(m) for m in chosen]
    print(f"{sum(results)} of {len(results)} named mutations caught")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
