// Shared by the component tests: a JSON answer for a stubbed fetch, the anonymous
// caller's /whoami, and a render inside a fresh QueryClient (no retries).
import type { ReactElement } from "react";
import { render } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";

export const jsonResponse = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

export const ANONYMOUS = { user: "anonymous", auth: false, admin: true, roles: {} };

export function newClient(): QueryClient {
  return new QueryClient({ defaultOptions: { queries: { retry: false } } });
}

export function renderWithClient(ui: ReactElement, client: QueryClient = newClient()) {
  return render(<QueryClientProvider client={client}>{ui}</QueryClientProvider>);
}
