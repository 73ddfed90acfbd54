import { useState, type FormEvent } from "react";
import { sessionEnded, useSession, type EndedSession } from "../session";
import { useTitle } from "../screen";
import { InterfaceLanguage, useT } from "../i18n";

/** Why the learner is here again, when the session ended (a 401) rather than a sign-out. */
function SessionEnded({ ended }: { ended: EndedSession | null }) {
  const { t } = useT();
  if (!ended) return null;
  return (
    <div role="alert" className="notice retrying session-ended">
      <p>{t("signin.ended")}</p>
      {ended.kept && <p>{t("signin.kept")}</p>}
    </div>
  );
}

// What the local stack's token endpoint accepts (dev/flowgen_local/http_front.py LOCAL_SUB). The
// pattern attribute is compiled with the `v` flag, where `|` and `-` must be escaped in a class.
const NAME_PATTERN = "[A-Za-z0-9_.@\\|\\-]{1,64}";
/** Signing in, in the browser's language. */
export function SignIn() {
  return (
    <InterfaceLanguage>
      <SignInScreen />
    </InterfaceLanguage>
  );
}

function SignInScreen() {
  const { t, lang } = useT();
  const session = useSession();
  const [ended] = useState(sessionEnded);
  const [name, setName] = useState(() => ended?.user ?? "");
  const [error, setError] = useState<string | null>(null);
  useTitle(t("signin.submit"));

  if (session.mode === "auth0") {
    return (
      <main id="main" className="narrow" lang={lang}>
        <h1>FlowGen</h1>
        <SessionEnded ended={ended} />
        <p>{t("signin.tagline")}</p>
        <button type="button" onClick={() => void session.signIn()}>
          {t("signin.submit")}
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
    <main id="main" className="narrow" lang={lang}>
      <h1>FlowGen</h1>
      <SessionEnded ended={ended} />
      <p>{t("signin.local")}</p>
      <form onSubmit={submit}>
        <label htmlFor="user-name">{t("signin.name")}</label>
        <input
          id="user-name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          pattern={NAME_PATTERN}
          title={t("signin.rule")}
          aria-describedby="user-name-rule"
          autoComplete="username"
          autoFocus
        />
        <p id="user-name-rule" className="hint">
          {t("signin.ruleExample", { rule: t("signin.rule") })}
        </p>
        <button type="submit">{t("signin.submit")}</button>
        {error && <p role="alert" className="notice error">{error}</p>}
      </form>
    </main>
  );
}
