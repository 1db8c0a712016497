import { useEffect } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { ended, eventsUrl, type EventShape, type ExecutionDetail } from "./api";
import { followEvents, type StreamEvent } from "./sse";

/** Apply one event of the stream to the execution's cached detail. The result is
 * marked ``patched``: only a status changed, its times, outputs and new nodes are not
 * there until the next answer of the server replaces it (see ``pollEvery``). */
export function applyEvent(detail: ExecutionDetail, event: EventShape): ExecutionDetail {
  if (event.kind === "execution") return { ...detail, status: event.status, patched: true };
  if (!detail.nodes.some((n) => n.node_id === event.node_id)) return detail;
  return {
    ...detail,
    patched: true,
    nodes: detail.nodes.map((n) => (n.node_id === event.node_id ? { ...n, status: event.status } : n)),
  };
}

/** The detail's polling interval (TanStack Query's ``refetchInterval``): none once the
 * server itself answered an ended execution. An end known only from the event stream
 * (a patched detail) is polled until the server's answer replaces it: the refetch the
 * end event asks for is then never the last word, even if it is lost or answered
 * before the end's records (the e2e's step 8b once saw an ended execution whose last
 * node had no outputs). */
export function detailPolling(detail: ExecutionDetail | undefined): number | false {
  if (detail && ended(detail.status) && !detail.patched) return false;
  return pollEvery(detail?.nodes.length ?? 0);
}

/** How long a refetch of the detail waits after an event (at most one per this
 * long): a big execution's detail is costly for the server, which also delivers
 * the events, so it is asked for less often (benchmarks/ui_bench.py, live). */
export function refetchDelay(nodes: number): number {
  return nodes > BIG ? 1500 : 250;
}

/** The backstop polling of an unfinished execution's detail. */
export function pollEvery(nodes: number): number {
  return nodes > BIG ? 5000 : 2000;
}

const BIG = 200;

/** Follow an unfinished execution's event stream: each event updates the cached
 * detail at once, and a refetch (at most one per ``refetchDelay``) brings the rest
 * (times, outputs, new nodes). The stream is closed when the execution ends. */
export function useLiveExecution(id: string, status: string | undefined, nodes = 0): void {
  const client = useQueryClient();
  const following = status !== undefined && !ended(status);
  const delay = refetchDelay(nodes);
  useEffect(() => {
    if (!following || typeof TextDecoderStream === "undefined") return;
    const stop = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const refetch = () => {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        void client.invalidateQueries({ queryKey: ["execution", id] });
      }, delay);
    };
    const onEvent = (message: StreamEvent) => {
      if (message.event !== "node" && message.event !== "execution") return;
      const event = JSON.parse(message.data) as EventShape;
      client.setQueryData<ExecutionDetail>(["execution", id], (d) => (d ? applyEvent(d, event) : d));
      if (event.kind === "execution" && ended(event.status)) {
        stop.abort();
        void client.invalidateQueries({ queryKey: ["execution", id] });
        void client.invalidateQueries({ queryKey: ["executions"] });
      } else {
        refetch();
      }
    };
    // The server ends the stream when the execution ends; it is never reopened
    // (polling of the detail carries on meanwhile).
    void followEvents(eventsUrl(id), onEvent, stop.signal);
    return () => {
      stop.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [id, following, client, delay]);
}
