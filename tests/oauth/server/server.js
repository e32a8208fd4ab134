// A real OpenID Connect provider (panva/oidc-provider) on loopback for smtpwizard's tests.
// Usage: node server.js SETTINGS.json  -- prints one JSON line {"issuer": ...} once it listens.
// The interaction (login + consent) completes without a browser: the account is the request's
// login_hint (or settings.account); accounts named "denied@..." refuse consent, "noconsent@..." need
// an admin's consent first, "outsider@..." belong to another tenant (AADSTS50020), and "noscope@..."
// consent to everything except the smtp.send scope.
'use strict';
const fs = require('node:fs');
const https = require('node:https');
const oidc = require('oidc-provider');

const Provider = oidc.default || oidc; // an ES module: require() gives its namespace

const settings = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const tls = { cert: fs.readFileSync(settings.cert), key: fs.readFileSync(settings.key) };

async function main() {
  const server = https.createServer(tls);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `https://127.0.0.1:${server.address().port}/${settings.tenant || 'tenant'}`;

  const provider = new Provider(issuer, {
    clients: settings.clients,
    scopes: ['openid', 'offline_access', 'email', 'profile', 'smtp.send'], // msal always asks for profile too
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    pkce: { required: () => true },
    conformIdTokenClaims: false, // the email claim in the ID token, as Entra's preferred_username is
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
    },
    // The SMTP test server may introspect every token; public clients revoke their own.
    ttl: {
      AccessToken: () => settings.access_ttl || 3600,
      ClientCredentials: () => settings.access_ttl || 3600,
      RefreshToken: (ctx, token, client) => (client && client.clientId === 'short-lived' ? 2 : 14 * 24 * 3600),
      DeviceCode: 600,
      Grant: 14 * 24 * 3600,
      Interaction: 600,
      Session: 600,
      AuthorizationCode: 60,
      IdToken: 3600,
    },
    rotateRefreshToken: true,
    issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    findAccount: async (ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, email: sub, email_verified: true }),
    }),
    // Entra's layout (login.microsoftonline.com/<tenant>/oauth2/v2.0/...), so the "microsoft"
    // provider's own URL building is what the tests exercise.
    routes: {
      authorization: '/oauth2/v2.0/authorize',
      token: '/oauth2/v2.0/token',
      device_authorization: '/oauth2/v2.0/devicecode',
      introspection: '/oauth2/v2.0/introspect',
      revocation: '/oauth2/v2.0/revoke',
    },
    interactions: { url: (ctx, interaction) => `/${settings.tenant || 'tenant'}/interaction/${interaction.uid}` },
  });
  provider.proxy = false;

  provider.use(async (ctx, next) => {
    const match = /\/interaction\/([^/]+)$/.exec(ctx.path);
    if (!match || ctx.method !== 'GET') return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const account = (details.params.login_hint || settings.account || 'user@example.test').toString();
    let result;
    if (details.prompt.name === 'login') {
      result = { login: { accountId: account } };
    } else if (account.startsWith('denied@') || details.session.accountId.startsWith('denied@')) {
      result = { error: 'access_denied', error_description: 'The user did not consent to the requested permissions' };
    } else if (details.session.accountId.startsWith('outsider@')) {
      // Entra's answer to a personal (or other tenant's) account signing in to a single-tenant app
      result = {
        error: 'invalid_request',
        error_description: `AADSTS50020: User account '${details.session.accountId}' from identity provider 'live.com' does not exist in tenant 'Contoso' and cannot access the application`,
      };
    } else if (details.session.accountId.startsWith('noconsent@')) {
      // Entra's answer when an admin must consent first (AADSTS65001)
      result = {
        error: 'consent_required',
        error_description: 'AADSTS65001: The user or administrator has not consented to use the application',
      };
    } else {
      const accountId = details.session.accountId;
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId, clientId: details.params.client_id });
      let scopes = (details.params.scope || '').split(' ').filter(Boolean);
      if (accountId.startsWith('noscope@')) {
        scopes = scopes.filter((s) => s !== 'smtp.send');
        grant.rejectOIDCScope('smtp.send'); // declined: not asked again
      }
      grant.addOIDCScope(scopes.join(' '));
      grant.addOIDCClaims(['email']);
      const grantId = await grant.save();
      result = { consent: { grantId } };
    }
    await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
    ctx.respond = false;
  });

  const prefix = `/${settings.tenant || 'tenant'}`;
  const callback = provider.callback();
  const seen = []; // who sent each token endpoint request (x-client-sku is MSAL.Python for msal)
  server.on('request', (req, res) => {
    if (req.url === `${prefix}/_test/requests`) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(seen));
      return;
    }
    if (req.method === 'POST' && !req.headers['x-test-harness']) {
      seen.push({ path: req.url.split('?')[0], sku: req.headers['x-client-sku'] || null });
    }
    if (!req.url.startsWith(`${prefix}/`)) {
      // Entra's answer for a tenant it does not know
      const tenant = req.url.split('/')[1];
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({
        error: 'invalid_request',
        error_description: `AADSTS90002: Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID.`,
      }));
      return;
    }
    req.originalUrl = req.url; // mounted under /<tenant>, as Entra's endpoints are
    req.url = req.url.slice(prefix.length);
    // Entra's discovery document lives under v2.0/ (msal's authority= looks there)
    if (req.url === '/v2.0/.well-known/openid-configuration') {
      req.url = '/.well-known/openid-configuration';
      req.originalUrl = `${prefix}${req.url}`;
    }
    // Entra issues a refresh token for offline_access without prompt=consent; oidc-provider follows
    // OIDC Core 11 and drops offline_access unless prompt includes consent: act like Entra here.
    if (req.url.startsWith('/oauth2/v2.0/authorize?') && !/[?&]prompt=/.test(req.url)) {
      req.url += '&prompt=consent';
      req.originalUrl += '&prompt=consent';
    }
    callback(req, res);
  });
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
