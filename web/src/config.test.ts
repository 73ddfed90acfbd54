import { ConfigError, isLoopback, loadConfig, NOT_CONFIGURED, parseConfig } from "./config";

const AUTH0 = { apiUrl: "https://api.acme.dev", auth: { mode: "auth0", domain: "acme.eu.auth0.com", clientId: "spa", audience: "https://api.acme.dev" } };

function serve(response: Response | Error) {
  vi.stubGlobal("fetch", vi.fn(async () => (response instanceof Error ? Promise.reject(response) : response)));
}

afterEach(() => vi.unstubAllGlobals());

describe("the runtime config", () => {
  it("knows loopback from a site", () => {
    expect(["localhost", "127.0.0.1", "127.0.1.5", "[::1]", "app.localhost"].every(isLoopback)).toBe(true);
    expect(["flowgen.acme.dev", "10.0.0.5", "192.168.1.20", "localhost.acme.dev", "127.0.0.1.nip.io"].some(isLoopback)).toBe(false);
  });

  it("reads a valid config, and refuses one with a wrong field", () => {
    expect(parseConfig(AUTH0)).toEqual(AUTH0);
    expect(parseConfig({ apiUrl: "", auth: { mode: "local", tokenUrl: "/_local/token" } }).auth.mode).toBe("local");
    expect(() => parseConfig({ apiUrl: "x", auth: { mode: "auth0", domain: "acme" } })).toThrow(ConfigError);
    expect(() => parseConfig({ auth: AUTH0.auth })).toThrow(ConfigError);
    expect(() => parseConfig([])).toThrow(ConfigError);
  });

  it("is an error away from loopback when config.json is missing, broken or invalid: never the local sign-in", async () => {
    serve(new Response("not found", { status: 404, statusText: "Not Found" }));
    await expect(loadConfig("flowgen.acme.dev")).rejects.toThrow(ConfigError);
    serve(new Response("{not json", { status: 200 }));
    await expect(loadConfig("flowgen.acme.dev")).rejects.toThrow(ConfigError);
    serve(new Response(JSON.stringify({ apiUrl: "x", auth: { mode: "auth0" } }), { status: 200 }));
    await expect(loadConfig("flowgen.acme.dev")).rejects.toThrow(/auth must be/);
    serve(new TypeError("Failed to fetch"));
    await expect(loadConfig("flowgen.acme.dev")).rejects.toThrow(ConfigError);
    serve(new Response(JSON.stringify(AUTH0), { status: 200 }));
    await expect(loadConfig("flowgen.acme.dev")).resolves.toEqual(AUTH0);
    expect(NOT_CONFIGURED).toBe("This FlowGen site is not configured: config.json is missing or invalid.");
  });

  it("falls back to the local stack's sign-in on loopback only", async () => {
    serve(new Response("not found", { status: 404 }));
    await expect(loadConfig("localhost")).resolves.toEqual({ apiUrl: "", auth: { mode: "local", tokenUrl: "/_local/token" } });
    await expect(loadConfig("127.0.0.1")).resolves.toMatchObject({ auth: { mode: "local" } });
  });
});
