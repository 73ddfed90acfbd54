import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { loadConfig, NOT_CONFIGURED } from "./config";
import "./styles.css";
import "./reading.css";
import "./theme.css";
import { applyTheme, storedTheme } from "./theme";

/** A site without a usable config.json (away from loopback): an error page, never a sign-in. */
function NotConfigured() {
  return (
    <main id="main" className="narrow">
      <h1>FlowGen is not available</h1>
      <div role="alert" className="notice error">
        <p>{NOT_CONFIGURED}</p>
      </div>
      <p className="hint">If you run this site: upload config.json next to index.html, as the README’s deployment steps say.</p>
    </main>
  );
}

applyTheme(storedTheme()); // before the first paint: no flash of the other theme
const root = createRoot(document.getElementById("root")!);
try {
  const config = await loadConfig();
  root.render(
    <StrictMode>
      <App config={config} />
    </StrictMode>,
  );
} catch (error) {
  console.error(error);
  document.title = "Not configured · FlowGen";
  root.render(<NotConfigured />);
}
