// The documentation page pullcheck implements (kubernetes.io/id/docs/concepts/containers/images),
// section by section: which scenarios test what each section says, and what no scenario tests.
// A scenario may prove more than one section; one that proves none is listed as beyond the page.
// Today's English edition (ENGLISH_PAGE_SECTIONS) documents more (back-off, parallel pulls, how
// config.json entries match): it is mapped the same way. A pattern ending in `/` or `-` is a prefix.
import { type ScenarioRecord, type ScenarioStatus, summarize, type TargetResult } from './schema.ts';

export const PAGE_URL = 'https://kubernetes.io/id/docs/concepts/containers/images/';

export interface PageSection {
  anchor: string;
  /** The heading as the page writes it. */
  heading: string;
  /** What the section says, in a line, in English. */
  gloss: string;
  /** Scenario IDs (whole, or a prefix ending in `/`) that test it; variants' IDs match their group's prefix. */
  scenarios: readonly string[];
  /** What the section says that no scenario tests, and why. */
  notCovered?: string;
}

export const PAGE_SECTIONS: readonly PageSection[] = [
  {
    anchor: '',
    heading: 'Image',
    gloss: "a container's image takes the same syntax as docker's, private registries and tags included",
    scenarios: ['smoke/'],
  },
  {
    anchor: 'memperbarui-image',
    heading: 'Memperbarui Image',
    gloss: 'the default pull policy: :latest and no tag mean Always, a digest or another tag IfNotPresent; Never never pulls',
    scenarios: ['pull-policy/', 'upgrade/deployment-pull-policy-defaulting'],
  },
  {
    anchor: 'membuat-image-multi-arsitektur-dengan-manifest',
    heading: 'Membuat Image Multi-arsitektur dengan Manifest',
    gloss: "a manifest list or OCI index: the node pulls its own platform's image",
    scenarios: [
      'multi-arch/',
      'registry/node-pulls-oci-index-from-public',
      'registry/node-pulls-oci-index-from-private',
      'registry/node-pulls-docker-manifest-list-from-public',
      'registry/node-pulls-docker-manifest-list-from-private',
      'registry/private-index-selects-node-platform',
      'registry/token-auth/node-pulls-oci-index-from-private',
      'registry/ggcr/node-pulls-docker-manifest-list-from-public',
      'registry-independent/node-pulls-ggcr-oci-index',
      'registry-independent/node-pulls-ggcr-docker-manifest-list',
      'registry-redirect/node-pulls-redirect-index',
      'registry-token/node-pulls-token-auth-index',
    ],
  },
  {
    anchor: 'menggunakan-registri-privat',
    heading: 'Menggunakan Registri Privat',
    gloss: 'reading a private registry needs credentials; the ways to give them',
    scenarios: [
      'smoke/private-image-without-credentials-fails',
      'smoke/token-auth/',
      'registry/private-requires-auth',
      'registry/token-auth/private-requires-auth',
      'registry/anonymous-manifest-and-blob-refused',
      'registry/node-refuses-untrusted-ca',
      'registry-token/',
    ],
  },
  {
    anchor: 'menggunakan-google-container-registry',
    heading: 'Menggunakan Google Container Registry, Amazon ECR, Azure ACR, IBM Cloud Container Registry',
    gloss: "a cloud's registry, its credentials supplied to kubelet by the cloud",
    scenarios: ['credential-provider/'],
    notCovered:
      "no cloud registry is reached (pullcheck runs without network); what they rely on, a kubelet credential provider plugin, is tested with pullcheck's own plugin",
  },
  {
    anchor: 'konfigurasi-node-untuk-otentikasi-ke-sebuah-registri-privat',
    heading: 'Konfigurasi Node untuk Otentikasi ke sebuah Registri Privat',
    gloss: "kubelet reads docker's config.json or .dockercfg from its search paths; every pod may then use the registry",
    scenarios: ['node-credentials/', 'use-cases/private-registry-node-config', 'upgrade/node-config-json-honoured', 'config-json/'],
    notCovered: "the page's GCE/GKE node configuration and docker login on the node are not run: the files they write are",
  },
  {
    anchor: 'image-pra-unduh',
    heading: 'Image Pra-unduh',
    gloss: "images already on a node are used by any pod with IfNotPresent or Never (with KEP-2535, as the node's policy says)",
    scenarios: [
      'pre-pulled/',
      'ensure-secret-pulled/',
      'upgrade/pre-pulled-image-kept',
      'upgrade/secret-pulled-image-without-credentials',
      'upgrade/kep2535-pull-records-kept',
    ],
  },
  {
    anchor: 'tentukan-imagepullsecrets-pada-sebuah-pod',
    heading: 'Tentukan ImagePullSecrets pada sebuah Pod',
    gloss: 'a docker-registry Secret named in imagePullSecrets, or added by a ServiceAccount; several are merged',
    scenarios: ['image-pull-secrets/', 'service-account/'],
  },
  {
    anchor: 'kasus-kasus-penggunaan-use-case',
    heading: 'Kasus-Kasus Penggunaan (Use Case)',
    gloss:
      'public images only; proprietary images with node config or Secrets; AlwaysPullImages for tighter control; multi-tenant registries',
    scenarios: ['use-cases/', 'always-pull-images/'],
    notCovered: "GCE/GKE's automatic local mirror for Docker Hub (a cloud feature)",
  },
];

/** Today's English edition of the same page, which platform teams read: it documents more than the seed. */
export const ENGLISH_PAGE_URL = 'https://kubernetes.io/docs/concepts/containers/images/';

export const ENGLISH_PAGE_SECTIONS: readonly PageSection[] = [
  {
    anchor: 'image-names',
    heading: 'Image names',
    gloss: 'a name, with a registry host and port, then a tag or a digest; a digest is fixed where a tag moves',
    scenarios: ['smoke/', 'pull-policy/tag-and-digest-', 'registry/tag-moves', 'registry/private-tag-moves'],
    notCovered: "the default registry (Docker Hub, or the runtime's configured default) is never reached: pullcheck runs without network",
  },
  {
    anchor: 'image-pull-policy',
    heading: 'Image pull policy',
    gloss:
      'IfNotPresent, Always, Never; the default from the tag (:latest or none → Always, else IfNotPresent, a digest IfNotPresent), set when the object is created and not changed when its image is',
    scenarios: [
      'pull-policy/default-',
      'pull-policy/ifnotpresent-keeps-cached',
      'pull-policy/always-repulls-moved-tag',
      'pull-policy/never-',
      'pull-policy/missing-tag-fails',
      'pull-policy/tag-and-digest-',
      'pull-policy/policy-fixed-at-creation',
      'upgrade/deployment-pull-policy-defaulting',
    ],
  },
  {
    anchor: 'required-image-pull',
    heading: 'Required image pull',
    gloss: 'to always pull: imagePullPolicy Always, :latest or no tag with no policy, or the AlwaysPullImages admission controller',
    scenarios: [
      'pull-policy/default-latest-always',
      'pull-policy/default-no-tag-always',
      'pull-policy/always-repulls-moved-tag',
      'always-pull-images/',
    ],
  },
  {
    anchor: 'imagepullbackoff',
    heading: 'ImagePullBackOff',
    gloss: 'a pull that failed is retried with a growing delay, up to five minutes, the container waiting in ImagePullBackOff',
    scenarios: ['pull-policy/back-off-'],
    notCovered:
      "the five-minute cap: reaching it takes five doublings (about ten minutes of failed pulls), too long for a default run; the first doubling is observed, the cap is kubelet's constant",
  },
  {
    anchor: 'image-pull-per-runtime-class',
    heading: 'Image pull per runtime class',
    gloss: "with RuntimeClassInImageCriApi, images are pulled and kept per the pod's runtime handler",
    scenarios: [],
    notCovered: 'an alpha feature gate, off by default; kind nodes run one runtime handler',
  },
  {
    anchor: 'serial-and-parallel-image-pulls',
    heading: 'Serial and parallel image pulls',
    gloss: 'serializeImagePulls (default true: one pull at a time per node); false with maxParallelImagePulls to bound how many at once',
    scenarios: [
      'pull-concurrency/serial-pulls-one-at-a-time',
      'pull-concurrency/parallel-pulls-overlap-up-to-max',
      'posture/kubelet-image-pulls',
    ],
    notCovered:
      'serializeImagePulls false without maxParallelImagePulls (no limit) is not run: the limit of 2 with 3 pulls shows both that pulls overlap and that the limit holds',
  },
  {
    anchor: 'multi-architecture-images-with-image-indexes',
    heading: 'Multi-architecture images with image indexes',
    gloss: "an image index or manifest list: the node pulls its own platform's image",
    scenarios: PAGE_SECTIONS.find((x) => x.anchor === 'membuat-image-multi-arsitektur-dengan-manifest')?.scenarios ?? [],
  },
  {
    anchor: 'using-a-private-registry',
    heading: 'Using a private registry',
    gloss: 'reading a private registry needs credentials; the ways to give them',
    scenarios: PAGE_SECTIONS.find((x) => x.anchor === 'menggunakan-registri-privat')?.scenarios ?? [],
  },
  {
    anchor: 'configuring-nodes-to-authenticate-to-a-private-registry',
    heading: 'Configuring nodes to authenticate to a private registry',
    gloss: 'credentials on the node (a config.json kubelet reads, or a credential provider): every pod on it may use the registry',
    scenarios: ['node-credentials/', 'use-cases/private-registry-node-config', 'upgrade/node-config-json-honoured'],
  },
  {
    anchor: 'kubelet-credential-provider',
    heading: 'Kubelet credential provider for authenticated image pulls',
    gloss:
      "kubelet runs exec plugins for images their matchImages cover (ECR's, ACR's and GCR's plugins among them), optionally with the pod's ServiceAccount token",
    scenarios: ['credential-provider/'],
    notCovered:
      "no cloud's plugin or registry is reached (pullcheck runs without network): pullcheck's own exec plugin (programs/credprovider) stands in for ECR's, ACR's and GCR's, through the same CredentialProviderRequest",
  },
  {
    anchor: 'config-json',
    heading: 'Interpretation of config.json',
    gloss:
      "an entry matches an image when each domain part matches (a * glob within one part), the port is the same and the entry's path is a prefix; every matching entry is tried in turn",
    scenarios: ['config-json/'],
    notCovered: "the page's examples on real domains (*.kubernetes.io, …): the same rules are shown on names under pullcheck.test",
  },
  {
    anchor: 'pre-pulled-images',
    heading: 'Pre-pulled images',
    gloss: 'images already on a node are used with IfNotPresent or Never',
    scenarios: ['pre-pulled/', 'upgrade/pre-pulled-image-kept'],
  },
  {
    anchor: 'ensureimagepullcredentialverification',
    heading: 'Ensure image pull credential verification',
    gloss:
      "KEP-2535: with the gate, a pod must prove access to an image pulled with credentials, by the node's imagePullCredentialsVerificationPolicy",
    scenarios: [
      'ensure-secret-pulled/',
      'pre-pulled/kubelet-pulled-image-needs-credentials',
      'upgrade/secret-pulled-image-without-credentials',
      'upgrade/kep2535-pull-records-kept',
    ],
  },
  {
    anchor: 'creating-a-secret-with-a-docker-config',
    heading: 'Creating a Secret with a Docker config',
    gloss: 'a kubernetes.io/dockerconfigjson Secret, from flags or from an existing config file',
    scenarios: [
      'image-pull-secrets/dockerconfigjson-secret-pulls',
      'image-pull-secrets/from-existing-config-file',
      'image-pull-secrets/legacy-dockercfg-secret',
      'image-pull-secrets/token-auth/',
    ],
  },
  {
    anchor: 'referring-to-an-imagepullsecrets-on-a-pod',
    heading: 'Referring to imagePullSecrets on a Pod',
    gloss: "a pod names Secrets of its own namespace, or its ServiceAccount adds them; merged with the node's credentials",
    scenarios: ['image-pull-secrets/', 'service-account/'],
  },
  {
    anchor: 'use-cases',
    heading: 'Use cases',
    gloss: 'public images only; proprietary images with node config or Secrets; AlwaysPullImages; multi-tenant registries',
    scenarios: ['use-cases/', 'always-pull-images/'],
    notCovered: "a cloud's automatic local mirror for public images",
  },
  {
    anchor: 'legacy-built-in-kubelet-credentials-provider',
    heading: 'Legacy built-in kubelet credential provider',
    gloss: "the in-tree cloud providers' credential code, removed: kubelet's exec plugins replace it",
    scenarios: [],
    notCovered: 'removed from kubelet (v1.26 and later): nothing left to test; its replacement is credential-provider/*',
  },
];

function matches(id: string, pattern: string): boolean {
  return pattern.endsWith('/') || pattern.endsWith('-') ? id.startsWith(pattern) : id === pattern;
}

export function sectionsOf(id: string, sections: readonly PageSection[] = PAGE_SECTIONS): PageSection[] {
  return sections.filter((s) => s.scenarios.some((p) => matches(id, p)));
}

export interface SectionView {
  section: PageSection;
  /** Per scenario ID, its verdict on each target that ran it. */
  rows: { id: string; title: string; verdicts: { target: string; status: ScenarioStatus }[] }[];
}

function rowsOf(targets: readonly TargetResult[], keep: (id: string) => boolean): SectionView['rows'] {
  const rows = new Map<string, SectionView['rows'][number]>();
  for (const t of targets)
    for (const s of t.scenarios) {
      if (s.selftest || !keep(s.id)) continue;
      const row = rows.get(s.id) ?? { id: s.id, title: s.title, verdicts: [] };
      row.verdicts.push({ target: t.name, status: s.status });
      rows.set(s.id, row);
    }
  return [...rows.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** Each section with the run's scenarios that test it, then the scenarios no section names (the seed page's, or `sections`). */
export function pageView(
  targets: readonly TargetResult[],
  sections: readonly PageSection[] = PAGE_SECTIONS,
): { sections: SectionView[]; beyond: SectionView['rows'] } {
  return {
    sections: sections.map((section) => ({ section, rows: rowsOf(targets, (id) => sectionsOf(id, sections).includes(section)) })),
    beyond: rowsOf(targets, (id) => sectionsOf(id, sections).length === 0),
  };
}

/** Per suite: counts and the sum of its scenarios' durations, per target. */
export function suiteSummary(
  targets: readonly TargetResult[],
): { target: string; suite: string; counts: Record<ScenarioStatus, number>; durationMs: number }[] {
  const bySuite = new Map<string, { target: string; suite: string; scenarios: ScenarioRecord[] }>();
  for (const t of targets)
    for (const s of t.scenarios) {
      if (s.selftest) continue;
      const key = `${t.name}\u0000${s.suite}`;
      const row = bySuite.get(key) ?? { target: t.name, suite: s.suite, scenarios: [] };
      row.scenarios.push(s);
      bySuite.set(key, row);
    }
  return [...bySuite.values()].map((r) => ({
    target: r.target,
    suite: r.suite,
    counts: summarize(r.scenarios),
    durationMs: r.scenarios.reduce((sum, s) => sum + s.durationMs, 0),
  }));
}
