import { useEffect } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { ended, eventsUrl, type EventShape, type ExecutionDetail } from "./api";

/** Apply one event of the stream to the execution's cached detail. */
export function applyEvent(detail: ExecutionDetail, event: EventShape): ExecutionDetail {
  if (event.kind === "execution") return { ...detail, status: event.status };
  if (!detail.nodes.some((n) => n.node_id === event.node_id)) return detail;
  return {
    ...detail,
    nodes: detail.nodes.map((n) => (n.node_id === event.node_id ? { ...n, status: event.status } : n)),
  };
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
    if (!following || typeof EventSource === "undefined") return;
    const source = new EventSource(eventsUrl(id));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const refetch = () => {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        void client.invalidateQueries({ queryKey: ["execution", id] });
      }, delay);
    };
    const onEvent = (message: MessageEvent<string>) => {
      const event = JSON.parse(message.data) as EventShape;
      client.setQueryData<ExecutionDetail>(["execution", id], (d) => (d ? applyEvent(d, event) : d));
      if (event.kind === "execution" && ended(event.status)) {
        source.close();
        void client.invalidateQueries({ queryKey: ["execution", id] });
        void client.invalidateQueries({ queryKey: ["executions"] });
      } else {
        refetch();
      }
    };
    source.addEventListener("node", onEvent);
    source.addEventListener("execution", onEvent);
    // The server ends the stream when the execution ends; never reconnect (polling
    // of the detail carries on meanwhile).
    source.onerror = () => source.close();
    return () => {
      source.close();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [id, following, client, delay]);
}
