"""``ketamine-nif``: the steps a user takes, one subcommand each.

    ketamine-nif simulate --scenario paper-null --seed 20250404 --out data/synthetic
    ketamine-nif validate data/synthetic
    ketamine-nif run [NOTEBOOK ...] [--data DIR] [-p KEY=VALUE ...] [--out FILE.ipynb] [--force]
    ketamine-nif render [--engine auto|quarto|offline]
    ketamine-nif check-book [DIR] [--synthetic | --real]
    ketamine-nif sweep FILE [--workers N] [--scheduler tcp://HOST:PORT] [--out DIR]
    ketamine-nif new-chapter STEM TITLE

Errors are reported as one clear message (no traceback) and a non-zero exit code:
2 for bad input (data, scenario, parameters), 1 for a failed run or render.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import yaml

from . import paths


def _parse_assignment(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        parsed = value
    return key.strip(), parsed


def cmd_simulate(args) -> int:
    from .twin import load_scenario, simulate

    twin = simulate(load_scenario(args.scenario), seed=args.seed)
    out = twin.write(args.out)
    m = twin.measurements
    print(
        f"wrote the synthetic twin (scenario {twin.metadata['scenario']}, seed {args.seed}) to {out}: "
        f"{len(twin.participants)} participants, {len(m)} measurement rows, {len(twin.truth)} true estimand values"
    )
    return 0


def cmd_validate(args) -> int:
    from .contract import ARMS, load_dataset, validation_summary
    from .identifiability import assess, in_words

    dataset = load_dataset(args.data_dir)
    arms = dataset.participants["arm"].value_counts()
    origin = f"synthetic (scenario {dataset.metadata.get('scenario')}, seed {dataset.metadata.get('seed')})" if dataset.synthetic else "real (no synthetic marker)"
    print(f"{args.data_dir}: the data follow the contract; {origin}; data hash {dataset.data_hash()}")
    study = dataset.study
    print(f"  participants: {len(dataset.participants)} ({', '.join(f'{arms.get(a, 0)} {study.label(a)}' for a in ARMS)})")
    print(f"  outcome: {study.outcome} ({study.outcome_title}, {study.outcome_range[0]:g} to {study.outcome_range[1]:g}); "
          f"baseline visit: {study.baseline}")
    print(f"  measures: {', '.join([study.outcome, *dataset.markers])}")
    print(f"  visits: {', '.join(dataset.visits)}")
    for row in validation_summary(dataset).itertuples():
        print(f"  {row.item}: {row.count} ({row.handling})")
    gaps = in_words(assess(dataset).gaps)
    if gaps:
        print("  not informed by these data (the chapters leave these estimates out, with a callout):")
        print("\n".join(f"    - {study.say(line)}" for line in gaps))
    return 0


def cmd_run(args) -> int:
    from .runner import RunError, find_job, load_parameters, run_book

    overrides = dict(args.param or [])
    data_dir = Path(args.data)
    if args.out:
        if len(args.notebooks) != 1:
            raise RunError("--out runs exactly one notebook; name it, e.g. `ketamine-nif run 01-data --out runs/x/01-data.ipynb`")
        from .contract import load_dataset
        from .runner import display_path, execute

        load_dataset(data_dir)
        job = find_job(args.notebooks[0])
        out = Path(args.out)
        parameters = load_parameters(
            job, {"data_dir": display_path(data_dir), "output_dir": display_path(out.parent / f"{job.stem}-outputs"), **overrides}
        )
        print(f"{job.stem}: executing into {out} ...", flush=True)
        seconds = execute(job, parameters, output=out)
        print(f"{job.stem}: done in {seconds:.1f} s; executed notebook {out}, outputs in {parameters['output_dir']}")
        return 0
    only = [find_job(n).stem for n in args.notebooks] if args.notebooks else None
    start = time.perf_counter()
    with paths.build_lock(log=lambda msg: print(msg, flush=True)):
        records = run_book(data_dir, overrides, force=args.force, only=only, log=lambda msg: print(msg, flush=True), jobs=args.jobs)
    executed = sum(r["status"] == "executed" for r in records)
    print(f"notebooks: {executed} executed, {len(records) - executed} unchanged, in {time.perf_counter() - start:.1f} s; executed notebooks in {paths.BUILD / 'notebooks'}")
    return 0


def cmd_render(args) -> int:
    import json

    from .render import RenderError, banner_text, build_book
    from .render.project import load_run_log
    from .runner import REPORT_DATA, RUN_LOG

    if not REPORT_DATA.exists():
        raise RenderError("no executed report found: run the notebooks first (`ketamine-nif run` or `make report`)")
    report_data = json.loads(REPORT_DATA.read_text(encoding="utf-8"))
    run_log = load_run_log(RUN_LOG)
    engine = args.engine
    if engine == "auto":
        engine = "quarto" if shutil.which("quarto") else "offline"
    start = time.perf_counter()
    print("rendering with Quarto ..." if engine == "quarto" else "rendering with the offline renderer (Pandoc + Typst"
          + ("; Quarto not found) ..." if args.engine == "auto" else ") ..."), flush=True)
    with paths.build_lock(log=lambda msg: print(msg, flush=True)):
        pdf = build_book(paths.QUARTO_CONFIG, paths.EXECUTED, paths.BUILD, paths.BOOK, banner_text(report_data), engine,
                         run_log=run_log, data_dir=report_data.get("data_dir"))
    print(f"book rendered{' by Quarto' if engine == 'quarto' else ''} in {time.perf_counter() - start:.1f} s "
          f"(project staged in {paths.BUILD / 'book'}):\n  HTML: {paths.BOOK / 'index.html'}\n  PDF:  {pdf}")
    return 0


def cmd_check_book(args) -> int:
    from .render.check import check_book, synthetic_from_build

    synthetic = args.synthetic if args.synthetic is not None else synthetic_from_build(args.dir)
    problems, summary = check_book(args.dir, synthetic=synthetic)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    if problems:
        print(f"error: check-book: {len(problems)} problem(s) in {args.dir} ({summary})", file=sys.stderr)
        return 1
    print(f"check-book: {args.dir} passes every check ({summary})")
    return 0


def cmd_sweep(args) -> int:
    import signal

    from .sweep import load_sweep, plan_sweep, run_sweep

    if args.dry_run:
        print("\n".join(plan_sweep(load_sweep(args.file), out=args.out)))
        return 0

    def stop(*_):  # `kill` stops the workers as Ctrl-C does; finished runs stay recorded
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    result = run_sweep(load_sweep(args.file), out=args.out, workers=args.workers, scheduler=args.scheduler,
                       log=lambda msg: print(msg, flush=True))
    if len(result.failures):
        for row in result.failures.itertuples():
            print(f"  failed: {row.run}: {row.error}", file=sys.stderr)
        print(f"error: {len(result.failures)} run(s) failed; the others finished. Details: {result.out / 'failures.csv'}", file=sys.stderr)
        return 1
    return 0


def cmd_new_chapter(args) -> int:
    from .runner import display_path
    from .scaffold import new_chapter

    for path in new_chapter(args.stem, args.title):
        print(f"wrote {display_path(path)}")
    print(f"run it: .venv/bin/ketamine-nif run {args.stem}; what to fill in: CONTRIBUTING.md, 'Add a chapter'")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .twin import DEFAULT_SCENARIO, DEFAULT_SEED, available_scenarios

    parser = argparse.ArgumentParser(prog="ketamine-nif", description="Bayesian reanalysis of the ketamine NIF trial.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("simulate", help="generate the synthetic twin")
    p.add_argument("--scenario", default=DEFAULT_SCENARIO, help=f"scenario name ({', '.join(available_scenarios())}) or YAML path")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed, identical files)")
    p.add_argument("--out", type=Path, default=paths.SYNTHETIC_DATA, help="output directory")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("validate", help="check a data directory against the contract")
    p.add_argument("data_dir", type=Path)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("run", help="execute the report's notebooks through Papermill")
    p.add_argument("notebooks", nargs="*", help="notebook stems (e.g. 01-data); default: every chapter")
    p.add_argument("--data", type=Path, default=paths.SYNTHETIC_DATA, help="data directory (default: the synthetic twin)")
    p.add_argument("-p", "--param", action="append", type=_parse_assignment, metavar="KEY=VALUE",
                   help="override a notebook parameter (value read as YAML); repeatable")
    p.add_argument("--out", type=Path, help="execute one notebook into this .ipynb instead of the book")
    p.add_argument("--force", action="store_true", help="re-execute even unchanged notebooks")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="notebooks executed side by side (default: $KETAMINE_NIF_JOBS, else the CPU count up to 4)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("render", help="render the executed notebooks into the book (_book/)")
    p.add_argument("--engine", choices=["auto", "quarto", "offline"], default="auto",
                   help="auto: Quarto when on PATH, else the offline renderer")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("check-book", help="check a rendered book (either renderer's): links, math, stderr, paths, alt text, banner, PDF")
    p.add_argument("dir", nargs="?", type=Path, default=paths.BOOK, help="the rendered book (default: _book)")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--synthetic", dest="synthetic", action="store_true", default=None,
                      help="the data are synthetic: every page must carry the banner (default: read _build/report-data.json)")
    kind.add_argument("--real", dest="synthetic", action="store_false", help="real data: no page may carry the banner")
    p.set_defaults(func=cmd_check_book)

    p = sub.add_parser("new-chapter", help="add a chapter in the project's shape: notebook, parameters, place in the book")
    p.add_argument("stem", help="two digits, a dash and kebab-case words, e.g. 11-my-question")
    p.add_argument("title", help="the chapter's title")
    p.set_defaults(func=cmd_new_chapter)

    p = sub.add_parser("sweep", help="run a sweep (many fits over a grid and seeds) in parallel, resumably")
    p.add_argument("file", type=Path, help="sweep file (YAML), e.g. sweeps/smoke.yaml")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: one per core)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="send the runs to a Dask distributed scheduler, e.g. tcp://10.0.0.5:8786, instead of local processes")
    p.add_argument("--out", type=Path, default=None, help="results folder (default: _build/sweeps/<name>)")
    p.add_argument("--dry-run", action="store_true", help="check the sweep file and count its runs; run nothing")
    p.set_defaults(func=cmd_sweep)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .contract import ContractError
    from .render import RenderError
    from .runner import RunError
    from .scaffold import ScaffoldError
    from .sweep import SweepError
    from .twin import ScenarioError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ContractError, ScenarioError, SweepError, ScaffoldError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (RunError, RenderError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
