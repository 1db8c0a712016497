// A reader of a text/event-stream over fetch: unlike EventSource it sends the
// Authorization header (a server run with `--auth` asks it of the event stream too).
import { authHeaders } from "./auth";

export interface StreamEvent {
  event: string;
  data: string;
}

/** Split a stream's text into complete events; returns them and the unfinished rest. */
export function parseEvents(text: string): { events: StreamEvent[]; rest: string } {
  const blocks = text.replace(/\r\n?/g, "\n").split("\n\n");
  const rest = blocks.pop() ?? "";
  const events: StreamEvent[] = [];
  for (const block of blocks) {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue; // a comment (keep-alive)
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length > 0) events.push({ event, data: data.join("\n") });
  }
  return { events, rest };
}

/** Read ``url``'s events until the stream ends, fails or ``signal`` aborts; never
 * reconnects (the caller's polling carries on). */
export async function followEvents(url: string, onEvent: (e: StreamEvent) => void, signal: AbortSignal): Promise<void> {
  try {
    const response = await fetch(url, { headers: { accept: "text/event-stream", ...authHeaders() }, signal });
    if (!response.ok || response.body === null) return;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const { events, rest } = parseEvents(buffer + value);
      buffer = rest;
      for (const e of events) onEvent(e);
    }
  } catch {
    // aborted, or the connection dropped: the polling of the detail carries on
  }
}
