"""Optional peers timed on the same inputs: PyTorch CPU autograd and scikit-learn's
private ``sklearn._loss`` module. Neither is a dependency: a peer that does not
import is simply absent.

``peer(name, case, threads)`` returns ``(timed, result)`` or None: ``timed()`` is the
call that is timed (what a user of that library would run for loss + gradient);
``result(out)`` converts its output to fastloss's ``(loss, grad)`` convention outside
the timing, for the agreement columns.
"""
import numpy as np

PEERS = ("torch", "sklearn")


def available_peers():
    out = []
    for name in PEERS:
        try:
            __import__(name)
            out.append(name)
        except ImportError:
            pass
    return tuple(out)


def peer(name, case, threads):
    return {"torch": _torch, "sklearn": _sklearn}[name](case, threads)


def _torch(case, threads):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    a = [torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x for x in case.args]
    kw = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in case.kwargs.items()}
    loss = case.loss
    if loss in ("svm", "softmax"):
        W, X, y = a
        reg = kw.get("reg", 0.0)
        C = W.shape[1]

        def f(w):
            s = X @ w
            if loss == "svm":
                data = F.multi_margin_loss(s, y, margin=kw.get("delta", 1.0)) * C
            else:
                data = F.cross_entropy(s, y)
            return data + reg * (w * w).sum()
    else:
        target = a[1]
        fns = {
            "mse": lambda p: F.mse_loss(p, target),
            "l1": lambda p: F.l1_loss(p, target),
            "huber": lambda p: F.huber_loss(p, target, delta=kw.get("delta", 1.0)),
            "bce_with_logits": lambda p: F.binary_cross_entropy_with_logits(p, target, **kw),
            "cross_entropy": lambda p: F.cross_entropy(p, target, **kw),
            "multiclass_hinge": lambda p: F.multi_margin_loss(p, target, margin=kw.get("delta", 1.0)) * p.shape[1],
            "hinge": lambda p: F.relu(kw.get("margin", 1.0) - target * p).mean(),
            "squared_hinge": lambda p: (F.relu(kw.get("margin", 1.0) - target * p) ** 2).mean(),
        }
        if loss not in fns:
            return None
        f = fns[loss]
    x0 = a[case.grad_arg]

    def timed():
        x = x0.detach().requires_grad_(True)
        value = f(x)
        value.backward()
        return value.item(), x.grad

    return timed, lambda out: (out[0], out[1].numpy())


def _sklearn(case, threads):
    try:
        from sklearn._loss import loss as sk
    except ImportError:
        return None
    if case.loss == "cross_entropy" and not case.kwargs and case.args[1].dtype.kind in "iu":
        z, y = case.args
        obj = sk.HalfMultinomialLoss(n_classes=z.shape[1])
        y_true = y.astype(z.dtype)
        n = z.shape[0]

        def timed():
            l, g = obj.loss_gradient(y_true=y_true, raw_prediction=z, n_threads=threads)
            return l.mean(), g
        return timed, lambda out: (float(out[0]), out[1] / n)
    if case.loss == "bce_with_logits" and not case.kwargs:
        x, t = (v.reshape(-1) for v in case.args)
        obj = sk.HalfBinomialLoss()
        n = x.shape[0]

        def timed():
            l, g = obj.loss_gradient(y_true=t, raw_prediction=x, n_threads=threads)
            return l.mean(), g
        return timed, lambda out: (float(out[0]), (out[1] / n).reshape(case.args[0].shape))
    if case.loss == "mse" and not case.kwargs:
        p, t = (v.reshape(-1) for v in case.args)
        obj = sk.HalfSquaredError()
        n = p.shape[0]

        def timed():  # half squared error: the same work, loss and gradient halved
            l, g = obj.loss_gradient(y_true=t, raw_prediction=p, n_threads=threads)
            return l.mean(), g
        return timed, lambda out: (2 * float(out[0]), (2 * out[1] / n).reshape(case.args[0].shape))
    return None
