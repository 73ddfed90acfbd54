import { useState, type FormEvent } from "react";
import { useSession } from "../auth";

export function SignIn() {
  const session = useSession();
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);

  if (session.mode === "auth0") {
    return (
      <main className="narrow">
        <h1>FlowGen</h1>
        <p>Courses on any topic, written while you read.</p>
        <button type="button" onClick={() => void session.signIn()}>
          Sign in
        </button>
      </main>
    );
  }
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await session.signIn(name.trim());
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <main className="narrow">
      <h1>FlowGen</h1>
      <p>Local stack: sign in as anyone. Each name is a separate user with their own courses.</p>
      <form onSubmit={submit}>
        <label htmlFor="user-name">User name</label>
        <input id="user-name" value={name} onChange={(e) => setName(e.target.value)} required pattern="[A-Za-z0-9_.@|-]{1,64}" autoFocus />
        <button type="submit">Sign in</button>
        {error && <p role="alert" className="notice error">{error}</p>}
      </form>
    </main>
  );
}
