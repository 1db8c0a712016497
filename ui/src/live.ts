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

/** Follow an unfinished execution's event stream: each event updates the cached
 * detail at once, and a refetch (at most one per 250 ms) brings the rest (times,
 * outputs, new nodes). The stream is closed when the execution ends. */
export function useLiveExecution(id: string, status: string | undefined): void {
  const client = useQueryClient();
  const following = status !== undefined && !ended(status);
  useEffect(() => {
    if (!following || typeof EventSource === "undefined") return;
    const source = new EventSource(eventsUrl(id));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const refetch = () => {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        void client.invalidateQueries({ queryKey: ["execution", id] });
      }, 250);
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
  }, [id, following, client]);
}
