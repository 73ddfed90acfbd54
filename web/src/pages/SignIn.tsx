import { useState, type FormEvent } from "react";
import { SESSION_ENDED } from "../api/client";
import { sessionEnded, useSession, type EndedSession } from "../session";
import { useTitle } from "../screen";

/** Why the learner is here again, when the session ended (a 401) rather than a sign-out. */
function SessionEnded({ ended }: { ended: EndedSession | null }) {
  if (!ended) return null;
  return (
    <div role="alert" className="notice retrying session-ended">
      <p>{SESSION_ENDED}</p>
      {ended.kept && <p>What you sent meanwhile is saved on this device; it will be sent once you have signed in.</p>}
    </div>
  );
}

// What the local stack's token endpoint accepts (dev/flowgen_local/http_front.py LOCAL_SUB). The
// pattern attribute is compiled with the `v` flag, where `|` and `-` must be escaped in a class.
const NAME_PATTERN = "[A-Za-z0-9_.@\\|\\-]{1,64}";
const NAME_RULE = "1 to 64 letters, digits or . _ @ | - (no spaces)";

export function SignIn() {
  const session = useSession();
  const [ended] = useState(sessionEnded);
  const [name, setName] = useState(() => ended?.user ?? "");
  const [error, setError] = useState<string | null>(null);
  useTitle("Sign in");

  if (session.mode === "auth0") {
    return (
      <main id="main" className="narrow">
        <h1>FlowGen</h1>
        <SessionEnded ended={ended} />
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
      <SessionEnded ended={ended} />
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
