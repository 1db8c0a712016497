// Signing in to a server run with `--auth`: the form that asks for a token (shown
// when a call was answered 401, with the server's reason), and the sign-out button.
import { useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { signIn, signOut } from "./auth";

export function SignIn({ reason }: { reason: string }) {
  const client = useQueryClient();
  const [value, setValue] = useState("");
  return (
    <section className="sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Sign in</h1>
      <p role="alert">{reason}</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim() === "") return;
          signIn(value);
          void client.resetQueries(); // every page asks again, with the token
        }}
      >
        <label>
          Token
          <input
            type="password"
            name="token"
            autoComplete="off"
            value={value}
            onChange={(e) => setValue(e.target.value)}
          />
        </label>{" "}
        <button type="submit" disabled={value.trim() === ""}>
          Sign in
        </button>
      </form>
      <p className="muted">
        An admin makes one with <code>rillet token create --user NAME --project P --role viewer</code>. It is kept in
        this tab only (sessionStorage).
      </p>
    </section>
  );
}

export function SignOut() {
  const client = useQueryClient();
  return (
    <button
      type="button"
      className="sign-out"
      onClick={() => {
        signOut();
        client.clear(); // nothing seen with the token stays on screen
      }}
    >
      Sign out
    </button>
  );
}
