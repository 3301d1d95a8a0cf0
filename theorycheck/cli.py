"""The ``theorycheck`` command. Thin: parses, calls the registry and the runner, prints, sets the exit code.

Exit codes: ``check``: 0 all checked claims pass, 1 a claim fails, 4 no claim fails but one is
inconclusive (its interval straddles the paper's threshold). ``run`` (the main job): 0 when
every claim was measured and the figures and report were written, whatever the verdicts (a claim
the data contradict is a finding, printed and reported, not a broken job); ``run --strict`` exits 1
when a claim fails, as ``check`` does. Every command: 2 bad input, including parameters that make a
computation diverge (one line on stderr, no traceback); 3 an internal error (one line; set
``THEORYCHECK_DEBUG=1`` for the traceback); 130 interrupted (finished sweep cells are kept; rerun
the same command to resume).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time

from .errors import InputError

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit code 2, as for every other bad input
        self.exit(2, f"theorycheck: error: {message}\n")


def _add_run_options(p, *, scale_default="smoke"):
    from .registry import SCALES
    p.add_argument("--scale", default=scale_default,
                   help=f"one of {', '.join(SCALES)} (default: {scale_default})")
    p.add_argument("--out", default=None, help="output folder (default: results/<scale>)")


def _build_parser():
    parser = _Parser(prog="theorycheck", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("list", help="list the registered claims")
    p.add_argument("--paper", default=None)

    for name, hlp in (("check", "check claims and save their results"),
                      ("run", "the main job: check every claim, draw every figure, write the report")):
        p = sub.add_parser(name, help=hlp)
        if name == "check":
            p.add_argument("ids", nargs="*", help="claim ids (default: all)")
        _add_run_options(p)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--jobs", type=int, default=1, help="local worker processes for sweeps")
        p.add_argument("--scheduler", default=None,
                       help="run sweep cells on Dask: 'local' (LocalCluster of --jobs workers) or an address")
        p.add_argument("--backend", default="numpy", help="numpy or cupy")
        p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                       help="override a claim parameter (repeatable)")
        p.add_argument("--no-progress", action="store_true", help="hide progress bars")
        if name == "run":
            p.add_argument("--strict", action="store_true", help="exit 1 when a claim fails (as check does)")

    p = sub.add_parser("figure", help="draw figures (PNG and PDF) from saved results")
    p.add_argument("ids", nargs="+")
    _add_run_options(p)

    p = sub.add_parser("report", help="write one HTML page with every saved verdict and figure")
    _add_run_options(p)

    p = sub.add_parser("bench", help="run a benchmark (theorycheck bench NAME --help)")
    p.add_argument("name", nargs="?", help="benchmark name (omit to list them)")
    p.add_argument("bench_args", nargs=argparse.REMAINDER)

    p = sub.add_parser("cite", help="print BibTeX for a claim's paper")
    p.add_argument("id")
    return parser


def _parse_overrides(items):
    out = {}
    for item in items:
        if "=" not in item:
            raise InputError("--param", f"must look like KEY=VALUE, got {item!r}")
        key, text = item.split("=", 1)
        try:
            out[key.strip()] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[key.strip()] = text
    return out


def _out(args):
    from .runner import default_out
    return args.out if args.out is not None else default_out(args.scale)


def _cells_word(cells) -> str:
    """How a result came about: computed, reused from the store, or recomputed after a code change."""
    run, reused, recomputed = cells.get("run", 0), cells.get("reused", 0), cells.get("recomputed", 0)
    if run + reused == 0:
        return "computed"
    parts = []
    if reused:
        parts.append(f"reused {reused}")
    if run - recomputed:
        parts.append(f"computed {run - recomputed}")
    if recomputed:
        parts.append(f"recomputed {recomputed} (code changed)")
    return ", ".join(parts) + " cells"


def _check(args, ids):
    from .runner import resolve, run_claim
    from .registry import SCALES, get_claim, list_claims
    from .report import format_metric
    from .errors import check_choice
    check_choice("scale", args.scale, SCALES)
    claims = [get_claim(i) for i in ids] if ids else list_claims()
    overrides = _parse_overrides(args.param)

    def _known(c):
        return set(c.scales[args.scale]) | set(c.criteria)

    for key in overrides:
        if not any(key in _known(c) for c in claims):
            raise InputError("--param", f"{key!r} is not a parameter of any selected claim")
    per_claim = {c.id: {k: v for k, v in overrides.items() if k in _known(c)} for c in claims}
    for c in claims:  # validate everything before spending time on anything
        resolve(c, args.scale, per_claim[c.id])
    out = _out(args)
    failed, unsure = [], []
    print(f"{'claim':28s} {'verdict':7s} {'time':>7s}  key numbers")
    for c in claims:
        t0 = time.perf_counter()
        res = run_claim(c.id, args.scale, out=out, seed=args.seed, jobs=args.jobs,
                        scheduler=args.scheduler, backend=args.backend, params=per_claim[c.id],
                        progress=not args.no_progress and sys.stderr.isatty())
        keym = "  ".join(f"{k}={format_metric(res.metrics[k])}" for k in c.key_metrics
                         if k in res.metrics)
        verdict = res.verdict + ("*" if res.exploratory else "")
        print(f"{c.id:28s} {verdict:7s} {time.perf_counter() - t0:6.1f}s  {keym}  [{_cells_word(res.cells)}]",
              flush=True)
        if res.exploratory:
            print(f"    * exploratory: criteria changed by --param: {', '.join(res.exploratory)}")
        if res.verdict == "FAIL":
            failed.append(c.id)
        elif res.verdict == "INCONCLUSIVE":
            unsure.append(c.id)
        for name, detail in res.failed_criteria().items():
            print(f"    failed: {name}: {detail}")
        for name, detail in res.inconclusive_criteria().items():
            print(f"    inconclusive: {name}: {detail}")
    print(f"results in {out}/")
    return failed, unsure


def _dispatch(args) -> int:
    if args.command == "list":
        from .registry import list_claims
        for c in list_claims(args.paper):  # an unknown --paper is an InputError (exit 2)
            print(f"{c.id:28s} {c.title}")
        return 0
    if args.command == "check":
        failed, unsure = _check(args, args.ids)
        return 1 if failed else 4 if unsure else 0
    if args.command == "run":
        failed, unsure = _check(args, [])
        from .report import write_report
        path = write_report(_out(args))
        print(f"figures and report written: {path}")
        if failed:
            print(f"{len(failed)} claim(s) failed: {', '.join(failed)} (see the report; "
                  f"exit code {1 if args.strict else 0}{'' if args.strict else ', --strict makes it 1'})")
        if unsure:
            print(f"{len(unsure)} claim(s) inconclusive: {', '.join(unsure)} (the data cannot decide them at "
                  "this scale; see the report)")
        return 1 if failed and args.strict else 0
    if args.command == "figure":
        from .plots import draw_figure
        from .runner import load_result
        from .registry import get_claim
        out = _out(args)
        for cid in args.ids:
            get_claim(cid)
        for cid in args.ids:
            fig = draw_figure(load_result(cid, out), out)
            print(f"{cid}: " + (f"{out}/{cid}.png, {out}/{cid}.pdf (plotted data: {out}/{cid}.json)"
                                if fig is not None else "no figure for this claim"))
        return 0
    if args.command == "report":
        from .report import write_report
        print(write_report(_out(args)))
        return 0
    if args.command == "bench":
        from .benchmarks import get_benchmark, list_benchmarks
        if not args.name:
            print("\n".join(list_benchmarks()))
            return 0
        result = get_benchmark(args.name)(args.bench_args)
        if result is not None and "--json" in args.bench_args:
            print(json.dumps(result, indent=1))
        return 0
    if args.command == "cite":
        from .registry import get_claim, get_paper
        claim = get_claim(args.id)
        print(claim.reference or get_paper(claim.paper).bibtex)
        return 0
    raise AssertionError(args.command)


def main(argv=None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except InputError as exc:
        print(f"theorycheck: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early: not an error of ours
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("theorycheck: interrupted; finished cells are saved, rerun the same command to resume",
              file=sys.stderr)
        return 130
    except FloatingPointError as exc:  # a divergence or overflow: the parameters asked too much
        print(f"theorycheck: error: numerical failure: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        import os
        if os.environ.get("THEORYCHECK_DEBUG"):
            raise
        print(f"theorycheck: internal error ({type(exc).__name__}): {exc}; set THEORYCHECK_DEBUG=1 "
              "for the traceback", file=sys.stderr)
        return 3
