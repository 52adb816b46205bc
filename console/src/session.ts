// The admin's access token, kept for this tab only (sessionStorage): it
// survives a reload, not the tab. See docs/decisions/0074.
import { useSyncExternalStore } from "react";

const KEY = "shop-admin-session";

export type SignedIn = { token: string; name: string; email: string };

const listeners = new Set<() => void>();
let current: SignedIn | null = read();

function read(): SignedIn | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as SignedIn) : null;
  } catch {
    return null;
  }
}

function set(value: SignedIn | null) {
  current = value;
  if (value) sessionStorage.setItem(KEY, JSON.stringify(value));
  else sessionStorage.removeItem(KEY);
  listeners.forEach((listener) => listener());
}

export const session = {
  token: () => current?.token ?? null,
  start: (value: SignedIn) => set(value),
  end: () => set(null),
  subscribe(listener: () => void) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

export function useSession(): SignedIn | null {
  return useSyncExternalStore(session.subscribe, () => current);
}
