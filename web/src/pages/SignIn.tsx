import { useState, type FormEvent } from "react";
import { useSession } from "../session";
import { useTitle } from "../screen";

// What the local stack's token endpoint accepts (dev/flowgen_local/http_front.py LOCAL_SUB). The
// pattern attribute is compiled with the `v` flag, where `|` and `-` must be escaped in a class.
const NAME_PATTERN = "[A-Za-z0-9_.@\\|\\-]{1,64}";
const NAME_RULE = "1 to 64 letters, digits or . _ @ | - (no spaces)";

export function SignIn() {
  const session = useSession();
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  useTitle("Sign in");

  if (session.mode === "auth0") {
    return (
      <main id="main" className="narrow">
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
    <main id="main" className="narrow">
      <h1>FlowGen</h1>
      <p>Local stack: sign in with any name; each name is a separate user with their own courses.</p>
      <form onSubmit={submit}>
        <label htmlFor="user-name">User name</label>
        <input
          id="user-name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          pattern={NAME_PATTERN}
          title={NAME_RULE}
          aria-describedby="user-name-rule"
          autoComplete="username"
          autoFocus
        />
        <p id="user-name-rule" className="hint">
          {NAME_RULE}, e.g. jane.doe or jane_doe.
        </p>
        <button type="submit">Sign in</button>
        {error && <p role="alert" className="notice error">{error}</p>}
      </form>
    </main>
  );
}
