// An in-app link: a real href (so it can be opened in a new tab or copied) that the
// client router follows without a page load. Every page links through it.
import type { ReactNode } from "react";
import { navigate } from "./router";

export function Link({ to, className, children }: { to: string; className?: string; children: ReactNode }) {
  return (
    <a
      href={to}
      className={className}
      onClick={(ev) => {
        ev.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}
