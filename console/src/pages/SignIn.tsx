import { useEffect, useState, type FormEvent } from "react";
import { api, call } from "../api/client";
import { session } from "../session";
import { Field, Outcome, useAction } from "../ui";

export function SignIn() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction();
  useEffect(() => {
    document.title = "Sign in · Shop admin";
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    await action.run(async () => {
      const signed = await call(api.POST("/auth/login", { body: { email, password } }));
      if (signed.user.role !== "admin") {
        throw new Error("This account is not an admin's: the console is for admins only.");
      }
      session.start({ token: signed.access_token, name: signed.user.name, email: signed.user.email });
      return "Signed in";
    });
  }

  return (
    <main>
      <h1>Sign in to the shop's admin console</h1>
      <form className="stacked" onSubmit={submit}>
        <Field label="Email">
          <input
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </Field>
        <Field label="Password">
          <input
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </Field>
        <button type="submit" disabled={action.running}>
          Sign in
        </button>
      </form>
      <Outcome action={action} />
    </main>
  );
}
