"""The argument checks shared by the public functions (quadlib._validation), and that every integrator
uses the one behaviour for `args`, tolerances and box limits."""
import math

import numpy as np
import pytest

import quadlib
from quadlib import _validation as v


def test_args_tuple():
    assert v.args_tuple(()) == ()
    assert v.args_tuple((1, 2)) == (1, 2)
    assert v.args_tuple(2.0) == (2.0,)
    marker = [1]
    assert v.args_tuple(marker)[0] is marker   # a list is one argument, not unpacked


@pytest.mark.parametrize("call", [
    lambda f: quadlib.tanh_sinh(f, 0.0, 1.0, args=2.0, vectorized=True),
    lambda f: quadlib.romberg(f, 0.0, 1.0, args=2.0),
    lambda f: quadlib.composite_simpson(f, 0.0, 1.0, 64, args=2.0),
    lambda f: quadlib.cubature(lambda x, c: f(x[:, 0], c), [0.0], [1.0], args=2.0),
    lambda f: quadlib.qmc_quad(lambda x, c: f(x[:, 0], c), [0.0], [1.0], args=2.0, seed=1),
    lambda f: quadlib.nquad(lambda x, c: f(x[:, 0], c), [(0.0, 1.0)], args=2.0),
], ids=["tanh_sinh", "romberg", "composite_simpson", "cubature", "qmc_quad", "nquad"])
def test_a_non_tuple_args_is_one_argument_everywhere(call):
    res = call(lambda x, c: c * x)
    value = getattr(res, "integral", res)
    assert abs(value - 1.0) < 1e-6   # integral of 2x over [0, 1]


def test_tolerances():
    assert v.tolerances(0.0, 1e-8) == (0.0, 1e-8)
    assert v.tolerances(1, 0) == (1.0, 0.0)
    for atol, rtol, error, match in [
        (0.0, 0.0, ValueError, "`atol` and `rtol` cannot both be zero"),
        (0, 0, ValueError, "`atol` and `rtol` cannot both be zero"),
        (-1.0, 1e-8, ValueError, "`atol` must be non-negative"),
        (0.0, -1e-8, ValueError, "`rtol` must be non-negative"),
        (math.nan, 1e-8, ValueError, "`atol` must be finite"),
        (0.0, math.inf, ValueError, "`rtol` must be finite"),   # the fast path for floats agrees
        ("1", 1e-8, TypeError, "`atol` must be a real number"),
    ]:
        with pytest.raises(error, match=match):
            v.tolerances(atol, rtol)


@pytest.mark.parametrize("call", [
    lambda: quadlib.tanh_sinh(np.exp, 0.0, 1.0, atol=0.0, rtol=0.0),
    lambda: quadlib.romberg(np.exp, 0.0, 1.0, atol=0.0, rtol=0.0),
    lambda: quadlib.cubature(lambda x: x[:, 0], [0.0], [1.0], atol=0.0, rtol=0.0),
    lambda: quadlib.nquad(lambda x: x[:, 0], [(0.0, 1.0)], atol=0.0, rtol=0.0),
], ids=["tanh_sinh", "romberg", "cubature", "nquad"])
def test_one_message_for_zero_tolerances(call):
    with pytest.raises(ValueError, match="^`atol` and `rtol` cannot both be zero$"):
        call()


def test_box():
    a, b = v.box(0, 1)
    assert a.shape == b.shape == (1,) and a.dtype == np.float64
    a, b = v.box([0, -np.inf], [1, np.inf])
    assert b[1] == np.inf
    a, b = v.box([1.0, 0.0], [0.0, 1.0], ordered=False)
    assert a[0] == 1.0
    for a, b, kw, error, match in [
        ([], [], {}, ValueError, "`a` must be a non-empty 1-D"),
        ([[0.0]], [[1.0]], {}, ValueError, "`a` must be a non-empty 1-D"),
        ([0.0], [[1.0]], {}, ValueError, "`b` must be a non-empty 1-D"),
        ([0.0, 0.0], [1.0], {}, ValueError, "`a` and `b` must have the same length, got 2 and 1"),
        ([0.0], [1.0], {"d": 2}, ValueError, "`a` and `b` must have length 2"),
        ([0.0, 1.0], [1.0, 1.0], {}, ValueError, r"`a` must be less than `b` in every coordinate, got a\[1\]"),
        ([np.inf], [np.inf], {}, ValueError, "`a` must be less than `b`"),
        ([0.0], [np.inf], {"finite": True}, ValueError, "`a` and `b` must be finite"),
        ([np.nan], [1.0], {}, ValueError, "`a` must not be NaN"),
        (["x"], [1.0], {}, TypeError, "`a` must be a real number"),
        ([0.0], [1j], {}, TypeError, "`b` must be a real number"),
    ]:
        with pytest.raises(error, match=match):
            v.box(a, b, **kw)


@pytest.mark.parametrize("integrate", [
    lambda a, b: quadlib.cubature(lambda x: x[:, 0], a, b),
    lambda a, b: quadlib.qmc_quad(lambda x: x[:, 0], a, b),
], ids=["cubature", "qmc_quad"])
def test_one_box_check_for_the_multidimensional_integrators(integrate):
    with pytest.raises(ValueError, match="`a` must be less than `b` in every coordinate"):
        integrate([0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="`a` and `b` must have the same length"):
        integrate([0.0, 0.0], [1.0])
