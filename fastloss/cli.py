"""Command line: ``fastloss bench`` and ``fastloss check`` (also ``python -m fastloss ...``).

    fastloss bench                      every loss x tier x dtype x size sweep (< 3 min)
    fastloss bench --quick              smallest sizes only (< 30 s)
    fastloss bench --peers              add PyTorch / scikit-learn columns when installed
    fastloss bench --compare OLD NEW    per-cell time ratios of two results.json files
    fastloss check                      gradient agreement report; exit 1 on any FAIL
"""
import argparse
import os
import sys

DEFAULT_OUT = "bench-results"


def _positive_int(text):
    """argparse type: an int >= 1 (argparse names the option in its error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not >= 1")
    return value


def _progress(total):
    """A progress callback: tqdm on a terminal when installed, else one line per cell."""
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None and sys.stderr.isatty():
        bar = tqdm(total=total, unit="cell", file=sys.stderr, leave=False)

        def step(message):
            bar.set_description(message)
            bar.update(1)
        return step, bar.close

    count = [0]

    def step(message):
        count[0] += 1
        print(f"  [{count[0]}/{total}] {message}", file=sys.stderr, flush=True)
    return step, lambda: None


def _bench(args):
    from .bench import outputs, report, run
    from .bench.compare import compare, format_compare

    if args.compare:
        (_, old), (_, new) = outputs.read_json(args.compare[0]), outputs.read_json(args.compare[1])
        print(format_compare(compare(old, new)))
        return 0
    from . import _registry
    from .bench import peers as peers_mod
    from .bench.triad import triad_gbps

    sizes = run.QUICK_SIZES if args.quick else run.SIZES
    if args.size:
        unknown = set(args.size) - set(run.all_size_labels())
        if unknown:
            raise ValueError(f"unknown --size {', '.join(sorted(unknown))}; "
                             f"choose from {', '.join(run.all_size_labels())}")
        sizes = run.select_sizes(args.size)
    losses = args.loss or list(_registry.LOSSES)
    for name in losses:
        if name not in _registry.LOSSES:
            raise SystemExit(f"fastloss bench: unknown loss {name!r}; choose from {', '.join(_registry.LOSSES)}")
    backends = args.backend or list(_registry.available_backends())
    for b in backends:
        _registry.check_backend(b)
    peers = peers_mod.available_peers() if args.peers else ()
    info = report.machine_info(threads=args.threads)
    info["triad_gbps"] = triad_gbps()
    info["grad_out"] = "reused" if args.reuse_grad else "fresh"
    print(report.header(info), flush=True)
    total = sum(len(run.sizes_for(loss, sizes)) for loss in losses) * len(args.dtype) * (len(backends) + len(peers))
    step, close = _progress(total)
    try:
        cells = run.run(losses=losses, backends=backends, dtypes=args.dtype, sizes=sizes,
                        repeat=args.repeat, loop_budget=args.loop_budget, peers=peers,
                        threads=args.threads, triad_gbps=info["triad_gbps"], progress=step,
                        reuse_grad=args.reuse_grad)
    finally:
        close()
    print(report.table(cells))
    written = outputs.write_all(args.out, info, cells, plots=not args.no_plots)
    print("\nsummary (best compiled tier per loss):")
    print(outputs.format_summary(outputs.summary_rows(cells)))
    print(f"\nwrote {', '.join(os.path.relpath(p) for p in written)}")
    return 0


def _check(args):
    from .bench.check import check_rows, format_rows

    rows = check_rows(losses=args.loss, backends=args.backend)
    print(format_rows(rows))
    return 0 if all(r["passed"] for r in rows) else 1


def _threads(args):
    from .bench import threads

    return threads.main(backends=args.backend, quick=args.quick, out=args.out, repeat=args.repeat)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="fastloss", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bench", help="time every loss x tier x dtype x size and check agreement")
    b.add_argument("--loss", action="append", help="loss name (repeatable); default: all")
    b.add_argument("--backend", action="append", help="backend (repeatable); default: all available")
    b.add_argument("--dtype", action="append", choices=("float64", "float32"), help="default: both")
    b.add_argument("--size", action="append", metavar="LABEL",
                   help="size label to run (repeatable), e.g. full, 'N=1e7', and the target sizes outside "
                        "the default sweep: N=64, 'N=8192 C=32000'; default: the whole sweep")
    b.add_argument("--quick", action="store_true", help="smallest size of each series only (< 30 s)")
    b.add_argument("--threads", type=_positive_int, default=None,
                   help="threads for the compiled tiers and peers (default: all cores)")
    b.add_argument("--repeat", type=_positive_int, default=5, help="timed repeats per cell (default 5)")
    b.add_argument("--loop-budget", type=float, default=2.0,
                   help="seconds per call the loop tier may take (extrapolated); default 2")
    b.add_argument("--peers", action="store_true", help="also time PyTorch and scikit-learn if installed")
    b.add_argument("--reuse-grad", action="store_true",
                   help="fastloss tiers write into one gradient buffer per cell (grad_out=), as in a "
                        "training loop, instead of a fresh array per call")
    b.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default ./{DEFAULT_OUT})")
    b.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    b.add_argument("--compare", nargs=2, metavar=("OLD.json", "NEW.json"),
                   help="print per-cell time ratios of two runs and exit")
    b.set_defaults(func=_bench)
    c = sub.add_parser("check", help="gradient agreement of every loss x backend x dtype")
    c.add_argument("--loss", action="append", help="loss name (repeatable); default: all")
    c.add_argument("--backend", action="append", help="backend (repeatable); default: all available")
    c.set_defaults(func=_check)
    t = sub.add_parser("threads", help="measure GIL release, compiled thread scaling and oversubscription")
    t.add_argument("--backend", action="append", help="numba or cython (repeatable); default: both available")
    t.add_argument("--quick", action="store_true", help="small sizes (seconds instead of a minute)")
    t.add_argument("--repeat", type=_positive_int, default=5, help="timed rounds per measurement (default 5)")
    t.add_argument("--out", default=DEFAULT_OUT, help=f"output folder for threads.json (default ./{DEFAULT_OUT})")
    t.set_defaults(func=_threads)
    args = parser.parse_args(argv)
    if getattr(args, "dtype", "x") is None:
        args.dtype = ["float64", "float32"]
    try:
        return args.func(args)
    except ValueError as exc:  # bad option values: one line, not a traceback
        parser.error(str(exc))


if __name__ == "__main__":
    sys.exit(main())
