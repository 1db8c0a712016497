"""A platform worker's live logs (``rillet.platform._livelogs``): the shipper copies the
whole lines its log file gained into chunks of the artifact store, bounded, and removes
them when the execution leaves the worker; the server's reader reads them back from any
offset; ``rillet prune`` removes those of ended executions (a worker that died).
(The end-to-end path, a real ``rillet worker`` and the server's stream, is
``tests/server/test_log_stream.py``.)"""

from __future__ import annotations

import time
from pathlib import Path

from rillet.artifacts import FolderArtifactStore
from rillet.engine._records import Batch, ExecutionRecord, ExecutionStatus
from rillet.engine._streams import read_attempt_lines
from rillet.platform._livelogs import LogShipper, read_live_lines, read_output
from rillet.store._home import Home
from rillet.store._prune import prune_home


def test_the_shipper_ships_whole_lines_and_the_reader_resumes_anywhere(
        tmp_path: Path) -> None:
    blobs = FolderArtifactStore(str(tmp_path / "artifacts"))
    log = tmp_path / "logs" / "e1.log"
    log.parent.mkdir()
    log.write_bytes(b"t#1| from an earlier claim\n")
    blobs.put_log_chunk("e1", 0, b"t#1| a dead worker's\n")
    shipper = LogShipper(blobs, lambda eid: str(tmp_path / "logs" / f"{eid}.log"), limit=60)
    shipper.follow("e1")  # the dead worker's chunks go; the file's old bytes are skipped
    assert blobs.log_chunks("e1") == []
    with open(log, "ab") as f:
        f.write(b"t#1| one\nu#1| other node\nt#1| tw")  # half a line: kept for later
    assert shipper.ship() == len(b"t#1| one\nu#1| other node\n")
    assert shipper.ship() == 0
    with open(log, "ab") as f:
        f.write(b"o\n")
    shipper.ship()
    assert blobs.log_chunks("e1") == [0, 25]
    assert read_live_lines(blobs, "e1", "t", 1) == ("one\ntwo\n", 34)
    assert read_live_lines(blobs, "e1", "u", 1) == ("other node\n", 34)
    assert read_live_lines(blobs, "e1", "t", 1, 9) == ("two\n", 34)  # inside a chunk
    assert read_live_lines(blobs, "e1", "t", 1, 25) == ("two\n", 34)  # at a chunk
    assert read_live_lines(blobs, "e1", "t", 1, 34) == ("", 34)  # nothing new yet
    assert read_live_lines(blobs, "e1", "t", 1, 0, limit=10) == ("one\n", 25)  # a chunk a read
    with open(log, "ab") as f:  # past the limit (60 bytes): no more is shipped
        f.write(b"t#1| three\n" * 10)
    shipper.ship()
    assert sum(len(blobs.get_log_chunk("e1", s) or b"") for s in blobs.log_chunks("e1")) \
        <= 60
    shipper.drop("e1")
    assert blobs.live_logs() == [] and not log.exists()


def test_prune_removes_the_live_logs_of_ended_executions(tmp_path: Path) -> None:
    h = Home.open(str(tmp_path / "home"))
    try:
        now = time.time()
        h.store.apply(Batch(executions=[
            ExecutionRecord(id=eid, workflow="m:wf", source="wf.py", spec_hash="",
                            status=status, inputs={}, created_at=now, started_at=now,
                            ended_at=None if status == ExecutionStatus.RUNNING else now)
            for eid, status in (("ended", ExecutionStatus.FAILED),
                                ("running", ExecutionStatus.RUNNING))]))
        for eid in ("ended", "running", "gone"):
            h.artifacts.put_log_chunk(eid, 0, b"t#1| x\n")
        dry = prune_home(h, older_than=None, max_size=None, dry_run=True)
        assert dry.by_kind["live logs"] == 14
        assert h.artifacts.live_logs() == ["ended", "gone", "running"]
        report = prune_home(h, older_than=None, max_size=None)
        assert report.by_kind["live logs"] == 14
        assert h.artifacts.live_logs() == ["running"]
    finally:
        h.close()


def test_a_read_takes_whole_lines_up_to_a_limit_from_the_file_or_the_chunks(
        tmp_path: Path) -> None:
    blobs = FolderArtifactStore(str(tmp_path / "artifacts"))
    log = tmp_path / "e.log"
    log.write_bytes(b"t#1| one\nt#1| two\nt#1| three\n")
    assert read_attempt_lines(str(log), "t", 1, 0, limit=20) == ("one\ntwo\n", 18)
    # a line longer than the limit: the rest at once, never half a line
    assert read_attempt_lines(str(log), "t", 1, 18, limit=5) == ("three\n", 29)
    assert read_output(str(log), blobs, "e", "t", 1) == ("one\ntwo\nthree\n", 29)
    blobs.put_log_chunk("e", 0, b"t#1| shipped\n")  # no file here: the chunks
    assert read_output(str(tmp_path / "none.log"), blobs, "e", "t", 1) == ("shipped\n", 13)
    assert read_output(str(tmp_path / "none.log"), None, "e", "t", 1) == ("", 0)
    blobs.put_log_chunk("e", 13, b"t#1| more\n")
    assert read_live_lines(blobs, "e", "t", 1, 0, limit=-1) == ("shipped\nmore\n", 23)
    assert read_live_lines(blobs, "e", "t", 1, 0, limit=13) == ("shipped\n", 13)
