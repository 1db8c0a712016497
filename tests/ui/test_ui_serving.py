"""The server serves the built UI at ``/`` (and its client routes, and ``/assets``)
beside the API, and says what to run when the UI is not built."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from rillet.server._ui import not_built_note

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))
from serverkit import serve  # noqa: E402 - the server tests' real uvicorn helper


@pytest.fixture
def client_of(tmp_path: Path) -> Iterator[Any]:
    """A real server (uvicorn, in a thread) on a fresh home, serving the UI of a folder."""
    with ExitStack() as stack:

        def make(ui_dir: Path) -> Any:
            home = tmp_path / f"home{len(stack._exit_callbacks)}"
            return stack.enter_context(serve(home, home, ui_dir=ui_dir)).client

        yield make


def built_ui(folder: Path) -> Path:
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><div id=root></div>"
                                       '<script src="/assets/app-1.js"></script>')
    (folder / "assets" / "app-1.js").write_text("console.log('rillet ui')")
    return folder


def test_the_built_app_is_served_at_root_and_at_its_client_routes(client_of, tmp_path):
    client = client_of(built_ui(tmp_path / "ui"))
    for path in ("/", "/executions/abc123", "/executions/abc123/", "/launch",
                 "/launch?from=abc123", "/compare?ids=a,b", "/lineage/abc123:total",
                 "/versions", "/versions/v1?project=p", "/launchplans", "/models",
                 "/launch?name=wf.x&project=p"):
        page = client.get(path)
        assert page.status_code == 200 and '<div id=root>' in page.text, path
        assert page.headers["content-type"].startswith("text/html")
    script = client.get("/assets/app-1.js")
    assert script.status_code == 200 and "rillet ui" in script.text
    assert script.headers["content-type"].startswith(("text/javascript",
                                                      "application/javascript"))
    # The API stays where it is, with its JSON errors; unknown assets are 404.
    assert client.get("/api/v1/health").json() == {"status": "ok"}
    assert client.get("/api/v1/executions").json() == []
    missing_route = client.get("/api/v1/nothing-here")
    assert missing_route.status_code == 404 and "text/html" not in missing_route.headers.get(
        "content-type", "")
    assert client.get("/assets/nope.js").status_code == 404
    assert "/" not in client.get("/openapi.json").json()["paths"]


def test_without_a_build_root_says_what_to_run(client_of, tmp_path):
    client = client_of(tmp_path / "empty")
    page = client.get("/")
    assert page.status_code == 200 and "<code>make ui</code>" in page.text
    assert client.get("/executions/abc").status_code == 200
    assert client.get("/assets/app.js").status_code == 404
    assert client.get("/api/v1/health").json() == {"status": "ok"}


def test_the_note_of_rillet_ui_names_the_command(tmp_path):
    note = not_built_note(tmp_path)
    assert note is not None and "`make ui`" in note and str(tmp_path) in note
    assert "\n" not in note
    assert not_built_note(built_ui(tmp_path / "ui")) is None


def test_an_asset_path_never_leaves_the_assets_folder(client_of, tmp_path):
    ui = built_ui(tmp_path / "ui")
    (tmp_path / "secret.txt").write_text("not for the web")
    client = client_of(ui)
    for path in ("/assets/../index.html", "/assets/%2e%2e/%2e%2e/secret.txt",
                 "/assets/..%2F..%2Fsecret.txt"):
        r = client.get(path)
        assert "not for the web" not in r.text, path
        assert r.status_code in (200, 404), path  # 200 only when the client normalised it
