from __future__ import annotations

import pickle

import pytest

import uoom

CLASSES = [
    (uoom.ValidationError, "UOOM_VALIDATION"),
    (uoom.InfeasibleError, "UOOM_INFEASIBLE"),
    (uoom.CapacityError, "UOOM_CAPACITY"),
    (uoom.NotFoundError, "UOOM_NOT_FOUND"),
    (uoom.ConflictError, "UOOM_CONFLICT"),
    (uoom.TimeoutError, "UOOM_TIMEOUT"),
    (uoom.IoError, "UOOM_IO"),
]


@pytest.mark.parametrize("cls,code", CLASSES)
def test_every_category_derives_from_uoom_error(cls: type, code: str) -> None:
    assert issubclass(cls, uoom.UoomError)
    assert cls.code == code  # type: ignore[attr-defined]


def test_validation_error_carries_field_errors_and_pickles() -> None:
    e = uoom.ValidationError("bad", [{"field": "a", "code": "required", "message": "a is required"}])
    back = pickle.loads(pickle.dumps(e))
    assert str(back) == "bad" and back.errors == e.errors


def test_the_native_module_raises_the_python_classes() -> None:
    with pytest.raises(uoom.exceptions.ValidationError):
        uoom.Channel(
            "c1", "dark_store", 0.0, 0.0, radius_km=5.0, base_cost=1.0, cost_per_km=0.5, prep_min=10.0,
            speed_kmh=25.0, quality=2.0,
        )
