// A real OpenID Connect provider for the single sign-on tests: panva's certified
// oidc-provider, on loopback, with one confidential client and a few accounts.
//
// Configuration comes as JSON in OIDC_TEST_CONFIG:
//   {"port": 0, "client_id": "...", "client_secret": "...", "redirect_uri": "...",
//    "accounts_file": "/tmp/.../accounts.json"}
// The accounts file maps logins to claims, {"ada": {"name": "Ada", "email":
// "ada@example.test", "groups": ["heliograph-admins"]}}, and is read at every
// sign-in, so a test can change someone's groups between two. Sign in through the
// provider's development login form (any password works for a listed login); the
// consent page follows. Once listening it prints one line, "listening <issuer>",
// so the test knows where it is.
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";

import { Provider } from "oidc-provider";

const config = JSON.parse(process.env.OIDC_TEST_CONFIG);

// Port 0: the operating system picks a free port; the issuer, which must name it,
// is known once the server listens.
const server = createServer();
await new Promise((resolve) => server.listen(config.port || 0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: config.client_id,
      client_secret: config.client_secret,
      redirect_uris: [config.redirect_uri],
      response_types: ["code"],
      grant_types: ["authorization_code"],
      token_endpoint_auth_method: "client_secret_post",
    },
  ],
  scopes: ["openid", "profile", "email", "groups"],
  claims: {
    openid: ["sub"],
    profile: ["name", "preferred_username"],
    email: ["email", "email_verified"],
    groups: ["groups"],
  },
  async findAccount(ctx, sub) {
    const accounts = JSON.parse(await readFile(config.accounts_file, "utf8"));
    const account = accounts[sub];
    if (!account) {
      return undefined;
    }
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          preferred_username: sub,
          name: account.name,
          email: account.email,
          email_verified: true,
          groups: account.groups,
        };
      },
    };
  },
  features: { devInteractions: { enabled: true } },
  // The tests speak plain HTTP on loopback.
  cookies: { keys: ["heliograph-test-only-cookie-key"] },
});
provider.proxy = false;

server.on("request", provider.callback());
process.stdout.write(`listening ${issuer}\n`);

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
