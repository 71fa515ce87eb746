// The rate-limiting front's bookkeeping, the pull-through cache's config, and what a scenario that
// met a rate limit records: pure parts of helpers/registry/ratelimit.ts, pullthrough.ts and
// helpers/framework/ratelimited.ts (the scenarios in suites/registry-{rate-limit,proxy} prove the rest).
import { describe, expect, it } from '@jest/globals';
import { rateLimitedIn, rateLimitedReason } from '../helpers/framework/ratelimited.ts';
import { RateLimitedError } from '../helpers/registry/client.ts';
import { proxyConfig } from '../helpers/registry/pullthrough.ts';
import { Limits, repositoryOfPath, tooManyRequestsBody } from '../helpers/registry/ratelimit.ts';

describe('the rate-limiting front', () => {
  it('reads the repository of manifest, blob, upload and tag paths, none of /v2/', () => {
    expect(repositoryOfPath('/v2/a/b/manifests/t')).toBe('a/b');
    expect(repositoryOfPath('/v2/a/blobs/sha256:00')).toBe('a');
    expect(repositoryOfPath('/v2/a/b/c/blobs/uploads/?mount=x')).toBe('a/b/c');
    expect(repositoryOfPath('/v2/a/tags/list?n=1')).toBe('a');
    expect(repositoryOfPath('/v2/')).toBeUndefined();
  });

  it('refuses a limited repository until lifted, or for its next n requests, with its own Retry-After', () => {
    const limits = new Limits();
    limits.limit('a');
    limits.limit('b', 2, 3);
    expect(limits.take('/v2/c/manifests/t')).toBe(false);
    expect(limits.take('/v2/a/manifests/t')).toEqual({ retryAfterSeconds: undefined });
    expect(limits.take('/v2/a/manifests/t')).toEqual({ retryAfterSeconds: undefined });
    expect(limits.take('/v2/b/blobs/x')).toEqual({ retryAfterSeconds: 3 });
    expect(limits.take('/v2/b/blobs/x')).toEqual({ retryAfterSeconds: 3 });
    expect(limits.take('/v2/b/blobs/x')).toBe(false);
    limits.lift('a');
    expect(limits.take('/v2/a/manifests/t')).toBe(false);
  });

  it("answers in the distribution spec's error shape with Docker Hub's code", () => {
    expect(JSON.parse(tooManyRequestsBody())).toMatchObject({ errors: [{ code: 'TOOMANYREQUESTS' }] });
  });
});

describe("the pull-through cache's proxy section", () => {
  it('names the upstream, its credentials (quoted) and the ttl only when given', () => {
    expect(proxyConfig({ remoteUrl: 'https://up:5000' })).toBe('proxy:\n  remoteurl: https://up:5000\n');
    expect(proxyConfig({ remoteUrl: 'https://up:5000', username: 'u', password: 'p:#x', ttl: '1h' })).toBe(
      'proxy:\n  remoteurl: https://up:5000\n  username: "u"\n  password: "p:#x"\n  ttl: 1h\n',
    );
  });
});

describe('a scenario that met a rate limit', () => {
  const limited = new RateLimitedError(
    'r.example:5000',
    'POST',
    '/v2/a/blobs/uploads/',
    { status: 429, headers: { 'retry-after': '60' }, body: Buffer.from('{"errors":[{"code":"TOOMANYREQUESTS"}]}') },
    3,
  );

  it('is found in the error or its causes, with the registry and its words', () => {
    expect(rateLimitedIn(new Error('push failed', { cause: limited }))).toMatchObject({
      registry: 'r.example:5000',
      detail: '429 TOOMANYREQUESTS, Retry-After 60',
    });
    expect(rateLimitedIn(new Error('x'))).toBeUndefined();
  });

  it('is reported as rate-limited, not as the capability failing', () => {
    const r = rateLimitedIn(limited);
    if (!r) throw new Error('no rate limit found');
    expect(rateLimitedReason(r)).toMatch(
      /^rate-limited: the registry r\.example:5000 limited pullcheck's requests \(429 TOOMANYREQUESTS, Retry-After 60\)/,
    );
  });
});
