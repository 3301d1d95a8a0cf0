"""Gradient flow of the 2-layer student on Eq. (1) or (2), integrated as an ODE (Hong et al. 2021, Theorem 1).

The flow is :math:`\\dot\\theta = -\\nabla_\\theta \\hat L(\\theta)`, :math:`\\theta = (W_1, W_2)`, with
:math:`\\hat L` the loss (1) or (2) as a **sum** over samples (the paper's normalisation; a mean would
only rescale time by N). Every gradient comes from :func:`theorycheck.nets.st_loss_and_grad`.

Choice of integrator
--------------------
The flow is stiff. Near a minimiser its Jacobian is minus the Hessian of the loss, whose fast
eigenvalues are about :math:`2(\\lambda + \\|W_2\\|^2)\\,s_{\\max}(X_\\epsilon)^2` (the feature term of
(2) adds :math:`2\\lambda X_\\epsilon^TX_\\epsilon` to the :math:`W_1` block) while the slowest non-zero
ones, which set how long convergence takes, are of order :math:`s_{\\min}(X_\\epsilon)^2` times the
target scale -- and a small start :math:`\\|W_i(0)\\|_F=\\delta` adds a plateau of length about
:math:`\\log(1/\\delta)/s` before anything is learned. To reach relative losses of 1e-20 the flow must
be followed for many slow time constants, which an explicit Runge-Kutta method (RK45, DOP853) can
only do with steps below its stability limit :math:`\\approx 3/\\text{fast eigenvalue}`: tens of
thousands of steps for :math:`\\lambda = 10`. The default is therefore the implicit ``BDF`` (with a
finite-difference Jacobian); ``Radau`` and ``LSODA`` are accepted as well. LSODA (Adams through the
plateau, switching to BDF once stiffness appears) was the default until a random instance stalled it:
N_s=4, d_x=5, m=6, lam=10, a teacher whose features have singular values down to 0.055 -- LSODA spent
10^6 evaluations without passing t = 4096 (relative loss 1e-8), where BDF reached 1e-29 in 4,303
evaluations (0.3 s); over 400 random instances of the property test BDF never took over 3 s. All of
these update the state by linear combinations of values of the right-hand side (and of the
Jacobian, whose range lies in the same subspace), so linear invariants of the flow such as
:math:`W_1(t)(I-\\Pi)` (step 1 of the reconstructed proof of Theorem 1) are preserved up to round-off.

Tolerances: the integration error must be far below the quantity measured by Theorem 1, the gap
:math:`\\approx C\\delta` between two end-to-end matrices of size O(1). With ``rtol = 1e-10`` and
``atol = 1e-12`` (absolute, on weights of size up to O(1)) the local error per step is ~1e-10
relative, and the flow is contracting towards its limit in every direction that is not frozen
(the frozen ones are exactly preserved), so the end error stays of that order: four or more digits
below the smallest gap :math:`C\\delta` measured with :math:`\\delta \\ge 10^{-5}`.

Convergence to a global minimiser is detected on the loss relative to the start: the run is
integrated on time chunks :math:`[0, t_1], [t_1, t_2], \\dots` with :math:`t_{k+1} = g\\,t_k` until
:math:`\\hat L(\\theta(t))/\\hat L(\\theta(0)) \\le` ``loss_tol`` (both losses have minimum 0 when the
teacher interpolates), until the gradient is below ``grad_tol`` relative to its start (a stationary
point that is not a zero-loss one), or until ``t_max``.

A budget of right-hand-side evaluations (``max_nfev``) ends runs whose steps collapse instead (as
LSODA's did above): such a run ends with ``success = False`` at the end of its last completed
chunk, and says so in ``message``; it is reported as not converged, never silently kept.

BLAS threads: the matrices are small, so threaded BLAS only adds synchronisation (and stalls on a
busy machine). This module does not set the thread count; the claims' sweeps run each flow with one
BLAS thread (``blas_threads=1``, :class:`theorycheck.sweep.RunContext`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from ... import nets
from ...errors import InputError, check_choice, check_int, check_real
from .closed_forms import _check_student_problem

__all__ = ["ODE_METHODS", "FlowResult", "gradient_flow"]


class _BudgetSpent(Exception):
    """Raised inside the right-hand side when ``max_nfev`` evaluations are spent."""


#: solve_ivp methods accepted (explicit ones are allowed for comparisons and non-smooth students)
ODE_METHODS = ("LSODA", "BDF", "Radau", "RK45", "DOP853")


@dataclass(frozen=True)
class FlowResult:
    """Outcome of :func:`gradient_flow`.

    Attributes
    ----------
    weights : tuple of ndarray, (W_1, W_2) at the final time, shapes (m, d_x), (d_y, m)
    t : float, final time
    loss, loss0 : float, loss at the final time and at t = 0
    loss_rel : float, ``loss / loss0``
    grad_rel : float, gradient norm at the end over its norm at t = 0
    converged : bool, ``loss_rel <= loss_tol`` (reached a zero-loss, i.e. global, minimiser)
    stationary : bool, ``grad_rel <= grad_tol``
    success : bool, every ``solve_ivp`` chunk reported success
    message : str, the last chunk's ``solve_ivp`` message
    nfev, njev, nlu : int, right-hand side evaluations, Jacobian evaluations, LU decompositions
    n_chunks : int
    method : str, rtol, atol : float
    wall_s : float, wall time of the integration
    snapshots : dict, ``{"t": list, "weights": list of (W_1, W_2)}`` at the requested ``record_times``
        (times after the final time are filled with the final state only when the run converged)
    """

    weights: tuple
    t: float
    loss: float
    loss0: float
    loss_rel: float
    grad_rel: float
    converged: bool
    stationary: bool
    success: bool
    message: str
    nfev: int
    njev: int
    nlu: int
    n_chunks: int
    method: str
    rtol: float
    atol: float
    wall_s: float
    snapshots: dict


def gradient_flow(weights0, X_eps, Y, teacher_hidden=None, lam: float = 0.0,
                  activation: str = "identity", *, method: str = "BDF", rtol: float = 1e-10,
                  atol: float = 1e-12, loss_tol: float = 1e-20, grad_tol: float = 1e-14,
                  t_first: float = 1.0, growth: float = 4.0, t_max: float = 1e7,
                  record_times=None, max_nfev: int = 1_000_000) -> FlowResult:
    """Integrate the gradient flow of Eq. (1) (``lam = 0``) or Eq. (2) until convergence.

    Parameters
    ----------
    weights0 : sequence of two ndarrays, shapes (m, d_x) and (d_y, m), the start :math:`W_i(0)`
    X_eps : ndarray of shape (N, d_x), noisy inputs
    Y : ndarray of shape (N, d_y), clean targets
    teacher_hidden : ndarray of shape (N, m) or None, teacher features :math:`T` on clean inputs
    lam : float >= 0, weight of the feature term of Eq. (2)
    activation : {"identity", "relu"}, student hidden activation (Theorem 1 needs "identity").
        With "relu" the right-hand side is discontinuous where a pre-activation crosses 0; the flow
        can slide along such a kink (a Filippov solution), where adaptive integrators chatter and
        stall, so keep ``t_max`` small for ReLU students.
    method : {"BDF", "LSODA", "Radau", "RK45", "DOP853"}, ``solve_ivp`` method (module docstring)
    rtol, atol : float > 0, ``solve_ivp`` tolerances (error per step ``<= atol + rtol*abs(theta)``)
    loss_tol : float > 0, stop when ``loss / loss0 <= loss_tol``
    grad_tol : float > 0, stop when ``||grad|| / ||grad(0)|| <= grad_tol``
    t_first, growth, t_max : float, chunk ends t_first * growth**k, capped at t_max
    record_times : sequence of float or None, times at which to store (W_1, W_2) snapshots
    max_nfev : int >= 1, budget of right-hand-side evaluations (module docstring); the run stops,
        unsuccessful, at the end of its last completed chunk when it is spent

    Returns
    -------
    FlowResult
    """
    method = check_choice("method", method, ODE_METHODS)
    lam = check_real("lam", lam, low=0.0)
    rtol = check_real("rtol", rtol, low=0.0, low_open=True)
    atol = check_real("atol", atol, low=0.0, low_open=True)
    loss_tol = check_real("loss_tol", loss_tol, low=0.0, low_open=True)
    grad_tol = check_real("grad_tol", grad_tol, low=0.0, low_open=True)
    t_first = check_real("t_first", t_first, low=0.0, low_open=True)
    growth = check_real("growth", growth, low=1.0, low_open=True)
    t_max = check_real("t_max", t_max, low=t_first)
    max_nfev = check_int("max_nfev", max_nfev, low=1)
    W1, W2, X_eps, Y, T = _check_student_problem(weights0, X_eps, Y, teacher_hidden)
    shapes, split = (W1.shape, W2.shape), W1.size
    hidden = None if T is None else [T]
    record = np.array(sorted(record_times), dtype=float) if record_times is not None else np.array([])
    if record.size and (record[0] < 0 or not np.all(np.isfinite(record))):
        raise InputError("record_times", "must be finite and >= 0")

    def unpack(theta):
        return [theta[:split].reshape(shapes[0]), theta[split:].reshape(shapes[1])]

    def loss_grad(theta):
        loss, grads = nets.st_loss_and_grad(unpack(theta), X_eps, Y, hidden, lam, activation)
        return loss, np.concatenate([g.ravel() for g in grads])

    calls = [0]

    def rhs(_t, theta):
        calls[0] += 1
        if calls[0] > max_nfev:
            raise _BudgetSpent
        return -loss_grad(theta)[1]

    theta = np.concatenate([W1.ravel(), W2.ravel()])
    loss0, grad0 = loss_grad(theta)
    g0 = float(np.linalg.norm(grad0))
    if not (loss0 > 0 and g0 > 0):
        raise InputError("weights0", "start at a stationary point of the loss: nothing to integrate")
    snaps_t, snaps_w = [], []
    if record.size and record[0] == 0:
        snaps_t.append(0.0)
        snaps_w.append(tuple(w.copy() for w in unpack(theta)))
    t, t_end = 0.0, t_first
    nfev = njev = nlu = n_chunks = 0
    success, message = True, ""
    loss, grad = loss0, grad0
    t0 = time.perf_counter()
    while True:
        inside = record[(record > t) & (record < t_end)]
        try:
            sol = solve_ivp(rhs, (t, t_end), theta, method=method, rtol=rtol, atol=atol,
                            t_eval=np.concatenate([inside, [t_end]]) if inside.size else None)
        except _BudgetSpent:
            success = False
            message = (f"stopped at t = {t:.4g} (end of the last completed chunk): the budget of "
                       f"max_nfev = {max_nfev} right-hand-side evaluations was spent in the next chunk")
            nfev = calls[0] - 1
            break
        n_chunks += 1
        nfev += int(sol.nfev)
        njev += int(sol.njev)
        nlu += int(sol.nlu)
        success = success and bool(sol.success)
        message = str(sol.message)
        if sol.success and inside.size:
            for k, tk in enumerate(sol.t[:-1]):
                snaps_t.append(float(tk))
                snaps_w.append(tuple(w.copy() for w in unpack(sol.y[:, k])))
        theta, t = sol.y[:, -1], float(sol.t[-1])
        if sol.success and np.any(record == t):
            snaps_t.append(t)
            snaps_w.append(tuple(w.copy() for w in unpack(theta)))
        loss, grad = loss_grad(theta)
        if (not sol.success or loss / loss0 <= loss_tol or np.linalg.norm(grad) / g0 <= grad_tol
                or t >= t_max):
            break
        t_end = min(t * growth, t_max)
    wall = time.perf_counter() - t0
    loss_rel = float(loss / loss0)
    grad_rel = float(np.linalg.norm(grad) / g0)
    if loss_rel <= loss_tol or grad_rel <= grad_tol:
        # past convergence the state no longer moves (to loss_tol): later snapshots are the final one
        for tk in record[record > t]:
            snaps_t.append(float(tk))
            snaps_w.append(tuple(w.copy() for w in unpack(theta)))
    return FlowResult(tuple(w.copy() for w in unpack(theta)), t, float(loss), float(loss0), loss_rel,
                      grad_rel, loss_rel <= loss_tol, grad_rel <= grad_tol, success, message, nfev,
                      njev, nlu, n_chunks, method, rtol, atol, wall, {"t": snaps_t, "weights": snaps_w})
