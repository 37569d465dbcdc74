"""Command line: ``fastloss bench`` (also ``python -m fastloss bench``)."""
import argparse
import sys


def _bench(args):
    from .bench import report, run

    info = report.machine_info()
    print(report.header(info), flush=True)
    cells = run.run(losses=args.loss, backends=args.backend, dtypes=args.dtype,
                    repeat=args.repeat, loop_budget=args.loop_budget,
                    progress=lambda m: print(f"  running {m} ...", file=sys.stderr, flush=True))
    print(report.table(cells))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="fastloss", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bench", help="time every loss x tier x dtype x size and check agreement")
    b.add_argument("--loss", action="append", help="loss name (repeatable); default: all")
    b.add_argument("--backend", action="append", help="backend (repeatable); default: all available")
    b.add_argument("--dtype", action="append", choices=("float64", "float32"), help="default: both")
    b.add_argument("--repeat", type=int, default=5, help="timed repeats per cell (default 5)")
    b.add_argument("--loop-budget", type=float, default=15.0,
                   help="seconds per call the loop tier may take (extrapolated); default 15")
    b.set_defaults(func=_bench)
    args = parser.parse_args(argv)
    if args.dtype is None:
        args.dtype = ["float64", "float32"]
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
