// A running attempt's output as it is printed: the server's log stream
// (GET .../logs/stream, server-sent events read over fetch so that a server run with
// `--auth` gets the token), resumed from the last byte offset when the connection
// drops, until the server says the attempt ended. The recorded logs are the
// reference once it ended (NodePanel shows them then).
import { useEffect, useState } from "react";
import { logStreamUrl } from "./api";
import { followEvents, type StreamEvent } from "./sse";

export interface LiveLog {
  text: string;
  offset: number;
  ended: boolean;
}

export const EMPTY_LOG: LiveLog = { text: "", offset: 0, ended: false };

/** One event of the stream applied to what was shown so far. */
export function applyLogEvent(log: LiveLog, message: StreamEvent): LiveLog {
  if (message.event !== "log" && message.event !== "end") return log;
  const data = JSON.parse(message.data) as { text?: string; offset?: number };
  const offset = typeof data.offset === "number" ? data.offset : log.offset;
  if (message.event === "end") return { ...log, offset, ended: true };
  if (offset <= log.offset) return log; // already shown (a resumed stream never repeats)
  return { text: log.text + (data.text ?? ""), offset, ended: false };
}

const RETRY_MS = 1000;

/** Follow the output of attempt ``attempt`` of a node while ``running``; reconnects
 * from the last offset (after ``RETRY_MS``) until the stream's ``end`` event. */
export function useLiveLog(executionId: string, nodeId: string, attempt: number, running: boolean): LiveLog {
  const [log, setLog] = useState<LiveLog>(EMPTY_LOG);
  useEffect(() => {
    setLog(EMPTY_LOG);
    if (!running || typeof TextDecoderStream === "undefined") return;
    const stop = new AbortController();
    let current = EMPTY_LOG;
    const onEvent = (message: StreamEvent) => {
      current = applyLogEvent(current, message);
      setLog(current);
    };
    void (async () => {
      while (!stop.signal.aborted && !current.ended) {
        await followEvents(logStreamUrl(executionId, nodeId, attempt, current.offset), onEvent, stop.signal);
        if (current.ended || stop.signal.aborted) return;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    })();
    return () => stop.abort();
  }, [executionId, nodeId, attempt, running]);
  return log;
}
