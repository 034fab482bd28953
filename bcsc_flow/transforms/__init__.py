"""Scale transformations of Gating-ML 2.0, plus FlowJo's biex display scale.

Every transform is a frozen, hashable dataclass and a vectorised float64 callable:
``f(x) -> np.ndarray`` and ``f.inverse(y) -> np.ndarray``. Optional keyword-only
``bound_min``/``bound_max`` clamp the result (Gating-ML ``boundMin``/``boundMax``);
``gatingml_name`` is the Gating-ML element (``flin``, ``flog``, ``fasinh``, ``logicle``,
``hyperlog``, ``fratio``; FlowJo's scale says ``biex`` and has no Gating-ML form).

=================  ==============================================  =====================
class              formula (Gating-ML 2.0, STANDARDS C.4)          parameters
=================  ==============================================  =====================
``Linear``         ``(x + A) / (T + A)``                           ``t, a=0``
``Log``            ``1 + log10(x / T) / M`` (NaN for ``x <= 0``)   ``t, m``
``Asinh``          fasinh                                          ``t, m, a=0``
``Logicle``        root of the logicle biexponential               ``t, w, m, a=0``
``Hyperlog``       root of the hyperlog function                   ``t, w, m, a=0``
``Ratio``          ``A·(x1 − B) / (x2 − C)``, called ``r(x1, x2)``  ``a, b, c``
``FlowJoBiex``     FlowJo 10 biex, on FlowJo's channel scale       ``max_value, width, neg, pos``
=================  ==============================================  =====================

Example
-------
>>> from bcsc_flow.transforms import Logicle
>>> f = Logicle(262144.0, 0.5, 4.5)
>>> f([-1000.0, 0.0, 262144.0]).round(6).tolist()
[-0.232115, 0.111111, 1.0]
>>> f == Logicle(262144.0, 0.5, 4.5, 0.0), f.gatingml_name
(True, 'logicle')
"""

from __future__ import annotations

from bcsc_flow.transforms._logicle import FlowJoBiex, Hyperlog, Logicle
from bcsc_flow.transforms._scale import Asinh, Linear, Log, Ratio

Transform = Linear | Log | Asinh | Logicle | Hyperlog | FlowJoBiex
"""Type of any single-channel scale transform."""

__all__ = ["Asinh", "FlowJoBiex", "Hyperlog", "Linear", "Log", "Logicle", "Ratio", "Transform"]
