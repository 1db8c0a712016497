"""The smallest rillet workflow: one task, one input.

Run it with ``python examples/hello.py`` or ``rillet run examples/hello.py:hello_world``.
It imports nothing but rillet, so the whole process stays fast.
"""

from rillet import task, workflow


@task
def greet(name: str) -> str:
    return f"Hello, {name}!"


@workflow
def hello_world(name: str = "world") -> str:
    return greet(name=name)


if __name__ == "__main__":
    print(hello_world())
