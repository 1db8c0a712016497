"""A workflow file that does not compile: a str is fed to an int input."""

from rillet import task, workflow


@task
def double(x: int) -> int:
    return 2 * x


@workflow
def broken(name: str = "a") -> int:
    return double(x=name)  # line 13: the type mismatch
