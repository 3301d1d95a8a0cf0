"""The ``theorycheck`` command: check the theorems, figures and tables of student-teacher and
distillation papers, regenerate their figures, and write a report.

Exit codes: ``check``: 0 every checked claim passes, 1 a claim fails, 4 no claim fails but one is
inconclusive (its interval straddles the paper's threshold). ``run`` (the main job): 0 when every
claim was measured and the figures and report were written, whatever the verdicts (a claim the data
contradict is a finding, printed and reported, not a broken job); ``run --strict`` exits 1 when a
claim fails, as ``check`` does. Every command: 2 bad input, including parameters that make a
computation fail numerically or exceed the memory budget (one line on stderr, no traceback); 3 an
internal error (one line; set ``THEORYCHECK_DEBUG=1`` for the traceback); 130 interrupted by Ctrl-C
and 143 by SIGTERM (finished sweep cells are kept; rerun the same command to resume). An interrupted
command ends by the signal itself once its cleanup is done, as Python does, so the shell shows 130 or
143 and a shell loop around it stops too; ``main([...])`` called in a program returns 130 or 143.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import errno
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from .errors import InputError
from .tex_plain import tex_to_plain

__all__ = ["main"]

_DESCRIPTION = ("Check the theory of student-teacher learning and knowledge distillation: each theorem, "
                "figure and table of a paper is a claim, measured and judged PASS, FAIL or INCONCLUSIVE. "
                "Start with `theorycheck run` (every claim at the smoke scale, figures and an HTML report).")
_EPILOG = ("exit codes: 0 pass (run: everything written), 1 a claim fails, 4 inconclusive (check), 2 bad input, "
           "3 internal error, 130/143 interrupted (rerun to resume)")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit code 2, as for every other bad input
        self.exit(2, f"theorycheck: error: {message}\n")


def _add_output_options(p, *, scale_default="smoke"):
    from .registry import SCALES
    p.add_argument("--scale", default=scale_default, choices=SCALES,
                   help=f"problem sizes: smoke (seconds), default (minutes), paper (the paper's sizes where "
                        f"hardware allows); default: {scale_default}")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: results/<scale>)")


def _build_parser():
    from .runner import BACKENDS
    from .version import __version__
    parser = _Parser(prog="theorycheck", description=_DESCRIPTION, epilog=_EPILOG)
    parser.add_argument("--version", action="version", version=f"theorycheck {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    p = sub.add_parser("list", help="list the claims of every installed paper")
    p.add_argument("--paper", default=None, metavar="KEY", help="only this paper's claims (e.g. hong2021)")

    for name, hlp in (("check", "check claims and save their results"),
                      ("run", "the main job: check every claim, draw every figure, write the report")):
        p = sub.add_parser(name, help=hlp, epilog=_EPILOG)
        if name == "check":
            p.add_argument("ids", nargs="*", metavar="ID", help="claim ids, e.g. hong2021.thm1 (default: all)")
        _add_output_options(p)
        p.add_argument("--seed", type=int, default=0, help="run seed; equal seeds give equal numbers (default 0)")
        p.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="worker processes for sweeps, at most the CPU count (default 1)")
        p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="run sweep cells on Dask: 'local' (a LocalCluster of --jobs workers) or tcp://host:port")
        p.add_argument("--backend", default="numpy", choices=BACKENDS,
                       help="array backend of the GPU-capable simulators (default numpy)")
        p.add_argument("--param", action="append", default=[], metavar="[ID:]KEY=VALUE",
                       help="override a parameter or criterion (repeatable); prefix ID: to aim at one claim")
        p.add_argument("--memory-budget", default=None, metavar="BYTES",
                       help="memory a run may plan to use, e.g. 8e9 or 8G (default: half the available memory)")
        p.add_argument("--no-progress", action="store_true", help="hide progress bars")
        p.add_argument("-q", "--quiet", action="store_true", help="print only failing or inconclusive claims")
        p.add_argument("-v", "--verbose", action="store_true", help="print every criterion of every claim")
        if name == "run":
            p.add_argument("--strict", action="store_true", help="exit 1 when a claim fails (as check does)")

    p = sub.add_parser("figure", help="draw figures (PNG, PDF, SVG) from saved results")
    p.add_argument("ids", nargs="*", metavar="ID", help="claim ids (default: every saved result)")
    _add_output_options(p)

    p = sub.add_parser("report", help="write one HTML page with every saved verdict and figure")
    _add_output_options(p)

    p = sub.add_parser("bench", help="run a benchmark (theorycheck bench NAME --help)")
    p.add_argument("name", nargs="?", help="benchmark name (omit to list them)")
    p.add_argument("bench_args", nargs=argparse.REMAINDER, help="the benchmark's own options")

    p = sub.add_parser("cite", help="print the BibTeX of a claim's paper")
    p.add_argument("id", metavar="ID", help="a claim id, e.g. hong2021.thm1")
    return parser


# -- options checked before anything is computed ---------------------------------------------
def _parse_overrides(items, claims, all_claims: bool) -> dict:
    """``{claim id: {key: value}}`` from ``[ID:]KEY=VALUE`` items.

    A repeated item is refused. Without an ``ID:`` a key applies to every selected claim that has it,
    except when every claim is checked and the key belongs to several (``sigma`` is a noise level in
    one claim and a data scale in another): then the claim must be named. A claim-specific value
    wins over a general one.
    """
    known = {c.id: set(c.scales["smoke"]) | set(c.criteria) for c in claims}
    general: dict[str, object] = {}
    specific: dict[str, dict] = {c.id: {} for c in claims}
    seen = set()
    for item in items:
        if "=" not in item:
            raise InputError("--param", f"must look like KEY=VALUE or ID:KEY=VALUE, got {item!r}")
        target, text = item.split("=", 1)
        cid, _, key = target.rpartition(":")
        key, cid = key.strip(), cid.strip() or None
        if (cid, key) in seen:
            raise InputError("--param", f"{target.strip()} is given twice; give each parameter once")
        seen.add((cid, key))
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            value = text
        if cid is None:
            general[key] = value
        elif cid not in known:
            raise InputError("--param", f"{cid!r} is not among the claims being checked")
        elif key not in known[cid]:
            raise InputError("--param", f"{key!r} is not a parameter or criterion of {cid}")
        else:
            specific[cid][key] = value
    out = {}
    for key in general:
        targets = [c for c in known if key in known[c]]
        if not targets:
            raise InputError("--param", f"{key!r} is not a parameter of any selected claim")
        if all_claims and len(targets) > 1:
            raise InputError("--param", f"{key!r} is a parameter of {len(targets)} claims ({', '.join(targets)}), "
                                        f"where it need not mean the same; write ID:{key}=VALUE or name the claims")
    for c in known:
        out[c] = {**{k: v for k, v in general.items() if k in known[c]}, **specific[c]}
    return out


def _memory_budget(text):
    if text is None:
        return None
    units = {"K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30, "T": 2 ** 40}
    t = str(text).strip().upper().removesuffix("B").removesuffix("I")
    scale = units.get(t[-1:], 1)
    try:
        value = float(t[:-1] if t[-1:] in units else t) * scale
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise InputError("--memory-budget", f"must be a positive number of bytes such as 8e9 or 8G, got {text!r}")
    return value


def _out(args) -> Path:
    """The output folder, checked to be a writable folder before anything is computed."""
    from .runner import default_out
    if args.out is not None and not str(args.out).strip():
        raise InputError("--out", "must name a folder, got an empty string")
    out = Path(args.out) if args.out is not None else default_out(args.scale)
    return out


def _writable(out: Path) -> Path:
    try:
        if out.exists() and not out.is_dir():
            raise InputError("--out", f"{out} exists and is not a folder")
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-", suffix=".tmp"):
            pass
    except InputError:
        raise
    except OSError as exc:
        raise InputError("--out", f"{out} is not a writable folder ({exc.strerror or exc})") from None
    return out


def _check_run_options(args) -> None:
    from .errors import check_int
    from .limits import max_jobs
    check_int("--jobs", args.jobs, low=1, high=max_jobs())
    check_int("--seed", args.seed, low=0, high=2 ** 63 - 1)
    if args.scheduler is not None and args.scheduler != "local" and "://" not in args.scheduler:
        raise InputError("--scheduler", f"must be 'local' or an address such as tcp://host:8786, got {args.scheduler!r}")


# -- commands ----------------------------------------------------------------------------------
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
    text = ", ".join(parts) + " cells"
    if reused and cells.get("seconds"):
        text += f"; {cells['seconds']:.1f} s of compute when made"
    return text


def _check(args, ids):
    from .report import format_metric
    from .registry import get_claim, list_claims
    from .runner import resolve, run_claim
    _check_run_options(args)
    budget = _memory_budget(args.memory_budget)
    claims = [get_claim(i) for i in ids] if ids else list_claims()
    per_claim = _parse_overrides(args.param, claims, all_claims=not ids)
    for c in claims:  # validate everything before spending time on anything
        resolve(c, args.scale, per_claim[c.id])
    out = _writable(_out(args))
    failed, unsure = [], []
    if not args.quiet:
        print(f"{'claim':28s} {'verdict':13s} {'time':>7s}  key numbers")
    for c in claims:
        t0 = time.perf_counter()
        res = run_claim(c.id, args.scale, out=out, seed=args.seed, jobs=args.jobs, scheduler=args.scheduler,
                        backend=args.backend, params=per_claim[c.id], memory_budget=budget,
                        progress=not args.no_progress and sys.stderr.isatty())
        keym = "  ".join(f"{_label(c, k)} = {format_metric(res.metrics[k])}{_unit(c, k)}" for k in c.key_metrics
                         if k in res.metrics)
        verdict = res.verdict + ("*" if res.exploratory else "")
        if not args.quiet or res.verdict != "PASS":
            print(f"{c.id:28s} {verdict:13s} {time.perf_counter() - t0:6.1f}s  {keym}  [{_cells_word(res.cells)}]",
                  flush=True)
        if res.backend != res.backend_requested:
            print(f"    note: {c.id} has no {res.backend_requested} code; it ran on {res.backend}")
        if res.exploratory:
            print(f"    * exploratory: criteria changed by --param: {', '.join(res.exploratory)}")
        if res.verdict == "FAIL":
            failed.append(c.id)
        elif res.verdict == "INCONCLUSIVE":
            unsure.append(c.id)
        for name, crit in res.criteria.items():
            if args.verbose or crit.status != "PASS":
                print(f"    {crit.status.lower()}: {name.replace('_', ' ')}: {tex_to_plain(crit.detail)}")
    if not args.quiet:
        print(f"results in {out}/")
    return failed, unsure


def _label(claim, key) -> str:
    """A metric's short name for readers (its declared label, math in plain Unicode), else its key."""
    info = claim.metrics.get(key)
    return tex_to_plain(info.label) if info is not None and info.label else key


def _unit(claim, key) -> str:
    info = claim.metrics.get(key)
    return "" if info is None or info.unit in ("", "1") else f" {tex_to_plain(info.unit)}"


def _figures(args) -> int:
    from .plots import draw_figure
    from .registry import get_claim
    from .runner import load_result
    from .store import Store, warn
    out = _out(args)
    ids = list(args.ids) or Store(out).saved_ids()
    if not ids:
        raise InputError("--out", f"{out} has no saved results; run `theorycheck check --scale {args.scale}` first")
    for cid in ids:
        get_claim(cid)
    readable = 0
    for cid in ids:
        try:
            result = load_result(cid, out, scale=args.scale)
        except InputError as exc:
            if args.ids:
                raise
            warn(str(exc))
            continue
        readable += 1
        fig = draw_figure(result, out)
        print(f"{cid}: " + (f"{out}/{cid}.png, .pdf, .svg (plotted data: {out}/{cid}.json)"
                            if fig is not None else "no figure for this claim"))
    if not readable:
        raise InputError("--out", f"{out} has no readable results (see the warnings above)")
    return 0


def _dispatch(args) -> int:
    if args.command == "list":
        from .registry import list_claims
        for c in list_claims(args.paper):  # an unknown --paper is an InputError (exit 2)
            print(f"{c.id:28s} {tex_to_plain(c.title)}")
        return 0
    if args.command == "check":
        failed, unsure = _check(args, args.ids)
        return 1 if failed else 4 if unsure else 0
    if args.command == "run":
        failed, unsure = _check(args, [])
        from .report import write_report
        path = write_report(_out(args), scale=args.scale)
        print(f"figures and report written: {path}")
        if failed:
            print(f"{len(failed)} claim(s) failed: {', '.join(failed)} (see the report; "
                  f"exit code {1 if args.strict else 0}{'' if args.strict else ', --strict makes it 1'})")
        if unsure:
            print(f"{len(unsure)} claim(s) inconclusive: {', '.join(unsure)} (the data cannot decide them at "
                  "this scale; see the report)")
        return 1 if failed and args.strict else 0
    if args.command == "figure":
        return _figures(args)
    if args.command == "report":
        from .report import write_report
        out = _out(args)
        if not out.is_dir():
            raise InputError("--out", f"{out} has no saved results; run `theorycheck check --scale {args.scale}` first")
        print(write_report(out, scale=args.scale))
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


def _quiet_libraries() -> None:
    """Matplotlib keeps its cache in a temporary folder, never in the user's home."""
    if "MPLCONFIGDIR" not in os.environ:
        folder = Path(tempfile.gettempdir()) / f"theorycheck-matplotlib-{os.getuid() if hasattr(os, 'getuid') else 0}"
        folder.mkdir(mode=0o700, exist_ok=True)
        os.environ["MPLCONFIGDIR"] = str(folder)


_DISK_ERRORS = {errno.ENOSPC: "no space left on the device", errno.EROFS: "read-only file system",
                errno.EACCES: "permission denied", errno.EDQUOT: "disk quota exceeded",
                errno.ENAMETOOLONG: "file name too long"}


# What survives an interruption, per command: sweeps keep finished cells; figures and the report are
# written whole (atomically) or not at all, so a rerun redraws only what is missing or stale.
_KEPT_ON_INTERRUPT = {
    "check": "finished cells are saved, rerun the same command to resume",
    "run": "finished cells and the figures already written are kept, rerun the same command to resume",
    "figure": "the figures already written are kept (no file is left half-written); rerun to draw the rest",
    "report": ("the page was not written (a previous report.html is left as it was), the figures drawn so far "
               "are kept; rerun the same command"),
    "bench": "the benchmark stopped before its result; rerun the same command",
}


def main(argv=None) -> int:
    from .interrupt import Terminated, end_by_signal, terminate_as_interrupt
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed as one line
        return exc.code if isinstance(exc.code, int) else 2
    _quiet_libraries()
    # SIGTERM becomes a clean interruption only for the command itself (argv from the command line);
    # a program that calls main([...]) in its own process keeps its own handling of SIGTERM
    guard = terminate_as_interrupt() if argv is None else contextlib.nullcontext()
    try:
        with guard:
            return _dispatch(args)
    except InputError as exc:
        print(f"theorycheck: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt as exc:
        print(f"theorycheck: interrupted; {_KEPT_ON_INTERRUPT.get(args.command, _KEPT_ON_INTERRUPT['check'])}",
              file=sys.stderr)
        if argv is None:  # the command itself: end by the signal, so a calling shell script stops too
            import signal
            end_by_signal(signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
        return 143 if isinstance(exc, Terminated) else 130
    except FloatingPointError as exc:  # a divergence or overflow: the parameters asked too much
        print(f"theorycheck: error: numerical failure: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("theorycheck: error: out of memory; use smaller sizes or --memory-budget", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno in _DISK_ERRORS:  # the output folder cannot take the results
            print(f"theorycheck: error: --out: cannot write {exc.filename or ''} ({_DISK_ERRORS[exc.errno]})",
                  file=sys.stderr)
            return 2
        return _internal(exc)
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        return _internal(exc)


def _internal(exc) -> int:
    if os.environ.get("THEORYCHECK_DEBUG"):
        raise exc
    print(f"theorycheck: internal error ({type(exc).__name__}): {exc}; set THEORYCHECK_DEBUG=1 "
          "for the traceback", file=sys.stderr)
    return 3
