// The API token of a server run with `--auth`: kept in sessionStorage (this tab, until
// it closes or the user signs out), sent as `Authorization: Bearer`, and a 401 from any
// call asks for one again. React reads it through useAuth (useSyncExternalStore).
import { useSyncExternalStore } from "react";

const KEY = "rillet.token";

interface AuthState {
  token: string | null;
  /** Why a token is asked for (the server's 401 line), or null while none is. */
  asked: string | null;
}

let state: AuthState = { token: read(), asked: null };
const listeners = new Set<() => void>();

function read(): string | null {
  try {
    return typeof sessionStorage === "undefined" ? null : sessionStorage.getItem(KEY);
  } catch {
    return null; // storage refused (a privacy mode): the token lives in memory only
  }
}

function update(next: AuthState): void {
  state = next;
  for (const listener of listeners) listener();
}

export function token(): string | null {
  return state.token;
}

/** The headers every API call carries. */
export function authHeaders(): Record<string, string> {
  return state.token ? { authorization: `Bearer ${state.token}` } : {};
}

export function signIn(value: string): void {
  const t = value.trim();
  try {
    sessionStorage.setItem(KEY, t);
  } catch {
    // kept in memory only
  }
  update({ token: t, asked: null });
}

export function signOut(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing kept
  }
  update({ token: null, asked: "Signed out. Give a token to go on." });
}

/** A call was answered 401: ask for a token, saying why. */
export function tokenRefused(message: string): void {
  if (state.asked !== message) update({ ...state, asked: message });
}

export function useAuth(): AuthState {
  return useSyncExternalStore(
    (onChange) => {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    () => state,
  );
}
