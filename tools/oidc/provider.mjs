// A certified OpenID Connect provider (panva/oidc-provider) on loopback, for the single sign-on tests only.
//
//   node tools/oidc/provider.mjs   (ISSUER=http://127.0.0.1:PORT, CLIENTS=<JSON array of client metadata>)
//
// Sign-in is the library's development interaction: any login name, any password. The login name is the
// account: its e-mail claim is the login itself, verified unless the name starts with "unverified".
// ID_TOKEN_TTL (seconds) lets a test make tokens that expire before they are used.
import crypto from "node:crypto";

import Provider from "oidc-provider";

const issuer = process.env.ISSUER;
const url = new URL(issuer);
const clients = JSON.parse(process.env.CLIENTS ?? "[]");

const provider = new Provider(issuer, {
  clients,
  pkce: { required: () => true },
  // Claims in the ID token itself, as Google and Entra ID send e-mail there.
  conformIdTokenClaims: false,
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: [crypto.randomUUID()] },
  ttl: { IdToken: Number(process.env.ID_TOKEN_TTL ?? 3600), AccessToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: !id.startsWith("unverified"), name: id.split("@")[0] };
      },
    };
  },
});
provider.proxy = false;
provider.listen(Number(url.port), url.hostname, () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
