"""Fetching a File or Directory given as a URL (``s3://``, ``https://``, ``gs://``...)
through fsspec. It reads remote content; it never writes to the artifact store."""

from __future__ import annotations


def fetch_url(url: str, target: str, recursive: bool) -> None:
    """Copy what ``url`` names to the local path ``target`` (a tree when ``recursive``)."""
    import fsspec

    fs, remote = fsspec.core.url_to_fs(url)
    if recursive:
        fs.get(remote.rstrip("/") + "/", target.rstrip("/") + "/", recursive=True)
    else:
        fs.get_file(remote, target)
