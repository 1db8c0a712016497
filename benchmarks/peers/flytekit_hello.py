"""Hello world on flytekit: a one-task workflow that prints its result (timed as a process)."""

from flytekit import task, workflow


@task
def greet(name: str) -> str:
    return f"hello, {name}"


@workflow
def hello_world(name: str = "world") -> str:
    return greet(name=name)


if __name__ == "__main__":
    print(hello_world(name="world"))
