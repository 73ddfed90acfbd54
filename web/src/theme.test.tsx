// Dark mode (issue 26): follows the system until the learner picks, and the pick is kept.
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { InterfaceLanguage } from "./i18n";
import { applyTheme, storedTheme, ThemeToggle } from "./theme";

function systemPrefers(dark: boolean) {
  vi.stubGlobal("matchMedia", (query: string) => ({
    matches: dark && query === "(prefers-color-scheme: dark)",
    addEventListener: () => {},
    removeEventListener: () => {},
  }));
}

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
  applyTheme(null);
});

describe("the theme", () => {
  it("follows a dark system setting, then keeps the learner's pick, then follows the system again", async () => {
    systemPrefers(true);
    const user = userEvent.setup();
    render(<ThemeToggle />);
    const toggle = screen.getByRole("button", { name: "Dark theme" });
    expect(toggle).toHaveAttribute("aria-pressed", "true"); // the system's, nothing stored
    expect(document.documentElement.dataset.theme).toBeUndefined();
    await user.click(toggle);
    expect(toggle).toHaveAttribute("aria-pressed", "false");
    expect(document.documentElement.dataset.theme).toBe("light");
    expect(storedTheme()).toBe("light"); // kept on this device, applied before the first paint (main.tsx)
    await user.click(toggle);
    expect(toggle).toHaveAttribute("aria-pressed", "true");
    expect(storedTheme()).toBeNull(); // the system's again: it follows the system
    expect(document.documentElement.dataset.theme).toBeUndefined();
  });

  it("turns dark on a light system, and says so", async () => {
    systemPrefers(false);
    const user = userEvent.setup();
    render(<ThemeToggle />);
    const toggle = screen.getByRole("button", { name: "Dark theme" });
    expect(toggle).toHaveAttribute("aria-pressed", "false");
    await user.click(toggle);
    expect(document.documentElement.dataset.theme).toBe("dark");
    expect(storedTheme()).toBe("dark");
  });

  it("is named in the top bar's language: German in a German browser", async () => {
    // the top bar follows the browser's language (App.tsx wraps it in InterfaceLanguage)
    vi.spyOn(navigator, "languages", "get").mockReturnValue(["de-DE", "en"]);
    systemPrefers(false);
    const user = userEvent.setup();
    render(
      <InterfaceLanguage>
        <ThemeToggle />
      </InterfaceLanguage>,
    );
    const toggle = await screen.findByRole("button", { name: "Dunkles Design" });
    await user.click(toggle);
    expect(toggle).toHaveAttribute("aria-pressed", "true");
    expect(screen.queryByRole("button", { name: "Dark theme" })).toBeNull();
    vi.restoreAllMocks();
  });
});
