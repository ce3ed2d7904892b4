"""``rng="cupy"``: the fused per-path body fed from an array of normals instead of Philox.

The second GPU mode (DESIGN.md section 3): CuPy's generator writes a chunk of standard normals to device
memory, ``z`` of shape ``(n_dims, n_cols)`` (dimension-major, so the threads of a warp, which take
consecutive columns, read consecutive addresses), and the same steppers as the Philox kernels
(``riskgpu.kernels.factory.steppers``) run on them: step ``i`` reads dimensions ``i * S .. i * S + S - 1``
(``S = model.slots + product.slots``), the layout of the Philox mode. It reads the normals from memory by
design, which is what it costs beside the fused mode. Checked against the Philox kernels fed the Philox
normals in this layout (same tile sums), and statistically with CuPy's own.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit, uint32

from riskgpu.kernels.factory import steppers

_CACHE: dict[tuple, Callable] = {}


def array_sample_function(model: object, product: object, dtype: np.dtype, *, python: bool = False) -> Callable:
    """The per-sample function of a single-asset ``(model, product)`` pair reading normals from ``z``.

    Signature of the returned ``@njit`` function::

        sample(col, antithetic, z, mp, pp, n_steps, disc) -> discounted payoff

    ``z`` is ``(n_steps * S, n_cols)`` in ``dtype``; column ``col`` holds the sample's normals (an
    antithetic pair: the second path takes their negatives). ``python=True``: the same body as plain
    Python over compiled steppers, for numba's CUDA simulator, whose kernels pass arrays a compiled
    function cannot take. Tested against ``sample_function`` on the Philox normals laid out so.
    """
    key = (model.kernel_id, type(product), model.slots, product.slots, np.dtype(dtype).name, python)
    if key in _CACHE:
        return _CACHE[key]
    st = steppers(model, product)
    m_init, init, finish, one_step = st.m_init, st.init, st.finish, st.one_step
    ms, n_slots, has_w = st.model_slots, st.n_slots, st.has_w
    one = np.dtype(dtype).type(1.0)
    half = np.dtype(dtype).type(0.5)

    def path_payoff(z, col, sign, mp, pp, n_steps):  # pragma: no cover - compiled
        s0 = mp[0]
        zero = s0 - s0
        state = m_init(mp)
        acc = init(state[0], pp)
        d = 0
        for i in range(n_steps):
            a = z[d, col]
            b = z[d + 1, col] if ms > 1 else zero
            c = z[d + 2, col] if ms > 2 else zero
            w = z[d + ms, col] if has_w else zero
            d += n_slots
            state, acc = one_step(state, acc, uint32(i), a, b, c, w, sign, mp, pp)
        return finish(acc, state[0], s0, pp)

    body = path_payoff if python else njit(inline="always")(path_payoff)

    def sample(col, antithetic, z, mp, pp, n_steps, disc):  # pragma: no cover - compiled
        v = body(z, col, one, mp, pp, n_steps) * disc
        if antithetic:
            w = body(z, col, -one, mp, pp, n_steps) * disc
            v = (v + w) * half
        return v

    _CACHE[key] = sample if python else njit(sample)
    return _CACHE[key]
