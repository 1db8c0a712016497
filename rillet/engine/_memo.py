"""Taking a node's outputs instead of running it: from the cache (with the
``serialize`` locks that make concurrent identical attempts compute once) or,
in a recovery, from the execution being recovered. Writes only records.
"""

from __future__ import annotations

import time
from typing import Any

from rillet.engine._cachekey import code_hash_of, task_version
from rillet.engine._graph import RNode, deps_of
from rillet.engine._reaper import reap_running
from rillet.engine._records import (
    DONE_OK,
    CacheEntry,
    NodeStatus,
)
from rillet.engine._runstate import HEARTBEAT_EVERY, RunState


class Memo(RunState):
    """Cache hits, recovery reuse and serialize locks of one execution."""

    def _code_digest(self, task: Any) -> str:
        digest = self.digests.get(task.name)
        if digest is None:
            try:
                digest = str(code_hash_of(task).digest)
            except Exception:  # code without source: recovery then always re-runs it
                digest = ""
            self.digests[task.name] = digest
        return digest

    def _version(self, task: Any) -> tuple[str, dict[str, str]]:
        v = self.versions.get(task.name)
        if v is None:
            v = self.versions[task.name] = task_version(task)
        return v

    def _outputs_usable(self, node: RNode, hashes: dict[str, str]) -> bool:
        """Whether every output value of ``node`` in ``hashes`` can still be loaded; a
        missing, pruned or corrupt one makes the hit a miss (the node runs again)."""
        values = self.values
        return all(values.usable(hashes[name], tp) for name, tp in node.outputs.items()
                   if name in hashes)

    def _try_cache(self, node: RNode, key: str) -> bool:
        entry = self.cache.get(key)
        if entry is None:
            return False
        if not self._outputs_usable(node, entry.outputs):
            del self.cache[key]  # a miss: the node runs, and its entry is written anew
            return False
        self._take_outputs(node, entry.outputs)
        self.batch.cache_hits.append(key)
        self._record_node(node, NodeStatus.CACHED, source=(entry.execution_id, entry.node_id))
        self._done(node)
        return True

    def _try_reuse(self, node: RNode, meta: dict[str, Any]) -> bool:
        reuse = self.reuse
        if reuse is None or self._forced(node.id):
            return False
        old = reuse.nodes.get(node.id)
        if old is None or old.status not in DONE_OK:
            return False
        if old.code_hash != meta.get("code_hash") or not old.code_hash:
            return False
        if any(d in self.tainted for d in deps_of(node.inputs)):
            return False
        if old.inputs != meta.get("inputs"):
            return False
        if reuse.pruned and not reuse.pruned.isdisjoint(old.outputs.values()):
            return False  # its value was pruned: compute it again
        if not self._outputs_usable(node, old.outputs):
            return False  # missing or corrupt: compute it again
        self._take_outputs(node, old.outputs)
        if reuse.execution_id == self.id:  # a worker taking this same execution over
            node.attempt = old.attempts
            if old.started_at is not None:
                meta["started_at"] = old.started_at
            kept = old.source_execution
            self._record_node(node, old.status,
                              source=(kept, old.source_node or node.id) if kept else None)
            self._done(node)
            return True
        src = (old.source_execution or reuse.execution_id, old.source_node or node.id)
        self._record_node(node, NodeStatus.RECOVERED, source=src)
        self._done(node)
        return True

    # -- serialize locks ------------------------------------------------------
    def _owner(self, node_id: str) -> str:
        return f"{self.id}:{node_id}"

    @staticmethod
    def _stale_after(node: RNode) -> float:
        """How old a holder's lock may grow before a waiter takes it over: an hour, or
        twice the task's timeout when that is longer."""
        timeout = node.spec.entity.timeout_seconds if node.spec is not None else None
        return max(3600.0, 2 * (timeout or 0))

    def _lock(self, node: RNode, key: str) -> bool:
        # Committed before the lock is taken: should this process die holding it, the
        # reaper finds the execution's owner and this node's key, and frees it at once
        # instead of leaving waiters to the stale limit.
        self._record_node(node, NodeStatus.QUEUED)
        self._flush()
        got = self.store.reserve(key, self._owner(node.id), self._stale_after(node))
        if got is None:
            self.waiting_lock[node.id] = key
            return False
        return self._hold(node, key)

    def _hold(self, node: RNode, key: str) -> bool:
        """We just took the lock of ``key``: True when this node must compute the
        value, False when the previous holder finished it before we took the lock
        (our cache read was older than its release), which is then taken as a hit."""
        self.held_locks[node.id] = key
        self.cache.update(self.store.cache_entries([node.spec.entity.name]))  # type: ignore[union-attr]
        if key in self.cache:
            del self.held_locks[node.id]
            self.store.release(key, self._owner(node.id))
            self._try_cache(node, key)
            return False
        return True

    def _recheck_locks(self) -> None:
        if not self.waiting_lock:
            return
        names = sorted({self.graph.nodes[n].spec.entity.name for n in self.waiting_lock})  # type: ignore[union-attr]
        self.cache.update(self.store.cache_entries(names))
        now = time.time()
        if now - self.last_holder_check > HEARTBEAT_EVERY:
            # A holder whose process died is marked FAILED and its locks freed.
            self.last_holder_check = now
            reap_running(self.store)
        for node_id, key in list(self.waiting_lock.items()):
            node = self.graph.nodes[node_id]
            if self._try_cache(node, key):
                del self.waiting_lock[node_id]
                continue
            got = self.store.reserve(key, self._owner(node_id), self._stale_after(node))
            if got is not None:  # the lock is free: a hit, or the holder gave up
                del self.waiting_lock[node_id]
                if self._hold(node, key):  # it gave up: this waiter takes over
                    self.graph.ready.append(node_id)

    def _write_cache(self, node: RNode, meta: dict[str, Any]) -> None:
        key = meta.get("cache_key")
        if key is None:
            return
        now = time.time()
        entry = CacheEntry(
            key=key, task=node.spec.entity.name, cache_version=meta["version"],  # type: ignore[union-attr]
            code_parts=meta["parts"], input_hashes=meta["inputs"],
            outputs={k: v.hash for k, v in self.outputs[node.id].items()},
            execution_id=self.id, node_id=node.id, created_at=now, last_used_at=now,
        )
        self.cache[key] = entry
        self.batch.cache_entries.append(entry)

    def _release_lock(self, node: RNode) -> None:
        key = self.held_locks.pop(node.id, None)
        if key is not None:
            self._flush()
            self.store.release(key, self._owner(node.id))

    def _release_all_locks(self) -> None:
        """Serialize locks still held (a node that took one over but never ran)."""
        for node_id, key in list(self.held_locks.items()):
            del self.held_locks[node_id]
            self.store.release(key, self._owner(node_id))
