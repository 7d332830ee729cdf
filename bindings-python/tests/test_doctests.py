"""Runs the docstring examples of the installed package's Python modules."""

from __future__ import annotations

import doctest
import types

import pytest

import uoom
import uoom._router
import uoom.exceptions


@pytest.mark.parametrize("module", [uoom, uoom.exceptions, uoom._router])
def test_docstring_examples(module: types.ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
