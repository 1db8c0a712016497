"""Files and folders given on the command line, and a File nested in an output."""

from __future__ import annotations

import os

from rillet import Directory, File, current_context, task, workflow


@task
def upper(f: File) -> File:
    out = os.path.join(current_context().working_directory, "up.txt")
    with open(f) as src, open(out, "w") as dst:
        dst.write(src.read().upper())
    return File(out)


@task
def count(d: Directory) -> int:
    return len(os.listdir(d))


@workflow
def files(f: File, d: Directory) -> tuple[File, int]:
    return upper(f=f), count(d=d)
