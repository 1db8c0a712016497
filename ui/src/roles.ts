// What the signed-in token may do, as the server says (GET /whoami: its user, whether it
// is an admin, its role per project); the pages hide the actions a role may not take.
// The server still checks every request: this only spares a click that would get a 403.
import { useQuery } from "@tanstack/react-query";
import { whoAmI, type WhoAmI } from "./api";
import { token } from "./auth";

export const ROLES = ["viewer", "launcher", "editor", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** Whether ``me`` holds ``needed`` (or a higher role) in ``project``; with no project,
 * in some project. Unknown (not answered yet) allows nothing. */
export function allows(me: WhoAmI | undefined, project: string | undefined, needed: Role): boolean {
  if (!me) return false;
  if (me.admin) return true;
  const rank = (role: string | undefined) => (role === undefined ? -1 : ROLES.indexOf(role as Role));
  if (project === undefined) return Object.values(me.roles).some((r) => rank(r) >= rank(needed));
  return rank(me.roles[project]) >= rank(needed);
}

/** The server's answer for this tab's token. A server without the route (older) lets
 * everything show, as before: it refuses what the role does not allow. */
export function useMe(): WhoAmI | undefined {
  const me = useQuery({
    queryKey: ["whoami", token()],
    queryFn: whoAmI,
    staleTime: 60_000,
    retry: false,
  });
  if (me.isError) return { user: "?", auth: false, admin: true, roles: {} };
  return me.data;
}

export function useAllows(project: string | undefined, needed: Role): boolean {
  return allows(useMe(), project, needed);
}
