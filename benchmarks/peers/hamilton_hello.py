"""Hello world on Hamilton: a one-function dataflow run by a driver (timed as a process)."""

import os
import sys

os.environ.setdefault("HAMILTON_TELEMETRY_ENABLED", "false")

from hamilton import base, driver


def greeting(name: str) -> str:
    return f"hello, {name}"


if __name__ == "__main__":
    dr = (
        driver.Builder()
        .with_modules(sys.modules[__name__])
        .with_adapters(base.DictResult())
        .build()
    )
    print(dr.execute(["greeting"], inputs={"name": "world"})["greeting"])
