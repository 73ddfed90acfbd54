/**
 * Auth0 Action, trigger "Login / Post Login": puts the user's FlowGen tier in the access token.
 *
 * The authorizer reads the claim `https://flowgen.dev/tier` (TIER_CLAIM in
 * layers/flowgen/flowgen/adapters/jwt_verifier.py) and keeps it only if it is a short lowercase
 * word; the api maps `free` and `pro` to their limits and budgets (the User* and Pro* template
 * parameters). Without the claim, the template's DefaultTier applies.
 *
 * Where the tier comes from: the user's app_metadata.flowgen_tier ("free" or "pro"), which only
 * the Auth0 Management API and dashboard can write (a billing webhook, an admin). Never
 * user_metadata: users can edit their own user_metadata, and would make themselves "pro".
 *
 * Install (docs/deploy.md, Auth0): Actions > Library > Build Custom, trigger Login / Post Login,
 * runtime Node 18 or later; paste this file; add the secret FLOWGEN_AUDIENCE = the API identifier
 * (the stack's Auth0Audience) so the claim is only added to tokens for FlowGen's API; Deploy; then
 * Actions > Triggers > post-login: drag it into the flow and Apply.
 *
 * Tokens from the client-credentials grant (a machine-to-machine application, e.g. for
 * `flowgen smoke`) do not run Post Login Actions: they carry no tier and get DefaultTier.
 */

const TIER_CLAIM = "https://flowgen.dev/tier";
const TIERS = ["free", "pro"];

/**
 * @param {Event} event - Details about the user and the context in which they are logging in.
 * @param {PostLoginAPI} api - Interface whose methods can be used to change the behavior of the login.
 */
exports.onExecutePostLogin = async (event, api) => {
  const audience = event.secrets && event.secrets.FLOWGEN_AUDIENCE;
  const requested = event.resource_server && event.resource_server.identifier;
  if (audience && requested !== audience) return; // a token for another API (or only an ID token)

  const stored = event.user.app_metadata && event.user.app_metadata.flowgen_tier;
  const tier = typeof stored === "string" ? stored.toLowerCase() : "";
  if (!TIERS.includes(tier)) return; // no claim: the stack's DefaultTier

  api.accessToken.setCustomClaim(TIER_CLAIM, tier);
};

// For tests outside Auth0 (node): the claim's name and the tiers the API knows.
exports.TIER_CLAIM = TIER_CLAIM;
exports.TIERS = TIERS;
