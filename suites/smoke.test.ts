// The cluster, the registries and the images work end to end: if this fails, nothing else can pass.
import { defineSuite, UNAUTHORIZED } from '../helpers/framework/harness.ts';

export const suite = defineSuite({
  name: 'smoke',
  registries: [
    { name: 'public', auth: 'none' },
    { name: 'private', auth: 'htpasswd' },
  ],
  variants: [
    { name: 'token-auth', registries: { private: { auth: 'token' } }, scenarios: ['private-image-without-credentials-fails'] },
    { name: 'ggcr', registries: { public: { implementation: 'ggcr' } }, scenarios: ['public-image-runs'] },
  ],
});

suite.scenario(
  'public-image-runs',
  'a pod runs an image from the anonymous registry over TLS and logs SUCCESS',
  { capabilities: ['tls'] },
  async (s) => {
    const image = await s.image(s.env.registry('public'));
    await s.expectRan(await s.runPod({ image: image.ref }), image);
  },
);

suite.scenario(
  'private-image-without-credentials-fails',
  'a pod without credentials cannot pull from the htpasswd registry: ErrImagePull, unauthorized',
  { capabilities: ['tls', 'auth-enforced'] },
  async (s) => {
    const image = await s.image(s.env.registry('private'));
    await s.expectPullFailure(await s.runPod({ image: image.ref }), UNAUTHORIZED);
  },
);
