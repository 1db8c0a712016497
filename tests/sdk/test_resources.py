"""``Resources``: cpu / mem / gpu quantities, parsed and checked at decoration."""

import pytest

from rillet import Resources, task
from rillet.errors import DefinitionError


@pytest.mark.parametrize(
    ("cpu", "cores"),
    [("500m", 0.5), ("2", 2.0), ("0.25", 0.25), ("1500m", 1.5), (2, 2.0), (0.5, 0.5), (" 4 ", 4.0)],
)
def test_cpu(cpu: object, cores: float) -> None:
    assert Resources(cpu=cpu).cpu_cores == cores  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mem", "size"),
    [
        ("512Mi", 512 * 2**20),
        ("2Gi", 2 * 2**30),
        ("1G", 10**9),
        ("100M", 100 * 10**6),
        ("64Ki", 64 * 1024),
        ("1Ti", 2**40),
        ("1024", 1024),
        (4096, 4096),
        ("1.5Gi", int(1.5 * 2**30)),
    ],
)
def test_mem(mem: object, size: int) -> None:
    assert Resources(mem=mem).mem_bytes == size  # type: ignore[arg-type]


@pytest.mark.parametrize(("gpu", "count"), [("1", 1), (2, 2), ("0", 0)])
def test_gpu(gpu: object, count: int) -> None:
    assert Resources(gpu=gpu).gpu_count == count  # type: ignore[arg-type]


def test_unset_fields_are_none_and_json() -> None:
    r = Resources(cpu="250m", mem="1Gi")
    assert r.gpu_count is None
    assert r.to_json() == {"cpu": 0.25, "mem": 2**30, "gpu": None}
    assert Resources().to_json() == {"cpu": None, "mem": None, "gpu": None}


def test_equal_declarations_compare_equal() -> None:
    assert Resources(cpu="1", mem="512Mi") == Resources(cpu="1", mem="512Mi")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cpu": "two"},
        {"cpu": "-1"},
        {"cpu": "0"},
        {"cpu": 0},
        {"cpu": "500x"},
        {"cpu": True},
        {"mem": "512MB"},
        {"mem": "lots"},
        {"mem": "-1Gi"},
        {"mem": "0"},
        {"mem": 0},
        {"mem": "2Gb"},
        {"mem": True},
        {"gpu": "1.5"},
        {"gpu": "one"},
        {"gpu": -1},
        {"gpu": 1.5},
        {"gpu": True},
    ],
)
def test_invalid_quantities_are_rejected(kwargs: dict) -> None:
    with pytest.raises(DefinitionError, match="Resources"):
        Resources(**kwargs)


def test_invalid_quantities_fail_at_decoration() -> None:
    with pytest.raises(DefinitionError, match=r"Resources\(mem='512MB'\)"):

        @task(requests=Resources(cpu="1", mem="512MB"))
        def f() -> None:
            pass
