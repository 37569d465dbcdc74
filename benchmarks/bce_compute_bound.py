"""Is BCE with logits at N=1e7 bound by memory or by arithmetic? (issue 5, target 2)

Usage: ``python benchmarks/bce_compute_bound.py`` (about a minute, all cores).

For each dtype and compiled tier, timed in interleaved rounds with the harness's own
timing (``fastloss.bench.timing``):

* ``N=1e7``: the kernel on the target's arrays (gradient buffer reused), as the
  elementwise_reused target times it;
* ``in cache``: the tier's kernel itself (``fastloss._registry.kernel``: no validation,
  whose fixed cost would count here) on 131072 elements (float64: 3 MiB over three
  arrays, spread over both cores' L2), repeated; its time per element times 1e7 is what
  the arithmetic alone costs at N=1e7, with no memory traffic to wait for;
* the triad moving the target's bytes: 75 % of its bandwidth gives the time budget of the
  target (``bytes / (0.75 * triad)``).

Where the in-cache projection is already near or above the budget, no overlap of memory
and arithmetic can meet the target with this arithmetic: it has to get cheaper first.
Reads and writes nothing but the terminal.
"""
import numpy as np

import fastloss
from fastloss import _registry
from fastloss.bench.timing import measure_interleaved
from fastloss.bench.triad import triad_call

N_BIG = 10 ** 7
N_CACHE = 131072


def _arrays(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * 3).astype(dtype)
    t = (rng.random(n) < 0.5).astype(dtype)
    return x, t, np.empty_like(x)


def main():
    tiers = [b for b in ("numba", "cython") if b in fastloss.available_backends()]
    print(f"{'dtype':8} {'tier':7} {'N=1e7':>9} {'in cache':>12} {'x 1e7':>9} "
          f"{'75% triad':>10}  compute share of the budget")
    for dtype in (np.float64, np.float32):
        big = _arrays(N_BIG, dtype)
        small = _arrays(N_CACHE, dtype, seed=1)
        triad, _ = triad_call(3 * np.dtype(dtype).itemsize * N_BIG)  # the cell's bytes
        fns = {"triad": triad}
        none = np.empty(0, dtype)  # absent weight, pos_weight and loss_out
        for b in tiers:
            x, t, g = big
            fns[(b, "big")] = (lambda b=b, x=x, t=t, g=g:
                               fastloss.bce_with_logits_loss(x, t, backend=b, grad_out=g))
            x, t, g = small
            k = _registry.kernel("bce_with_logits", b, dtype=np.dtype(dtype))
            fns[(b, "cache")] = (lambda k=k, x=x, t=t, g=g:
                                 k(x, t, none, none, 1.0 / N_CACHE, none, g))
        res = measure_interleaved(fns, repeat=9)
        budget = res["triad"]["median"] / 0.75  # same bytes at 75 % of the triad's rate
        for b in tiers:
            t_big = res[(b, "big")]["median"]
            per_el = res[(b, "cache")]["median"] / N_CACHE
            projected = per_el * N_BIG
            print(f"{np.dtype(dtype).name:8} {b:7} {t_big * 1e3:7.2f}ms "
                  f"{per_el * 1e9:8.3f}ns/el {projected * 1e3:7.2f}ms {budget * 1e3:8.2f}ms  "
                  f"{100 * projected / budget:.0f}%")


if __name__ == "__main__":
    main()
