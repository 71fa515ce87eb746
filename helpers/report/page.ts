// The documentation page pullcheck implements (kubernetes.io/id/docs/concepts/containers/images),
// section by section: which scenarios test what each section says, and what no scenario tests.
// A scenario may prove more than one section; one that proves none is listed as beyond the page.
import { summarize, type ScenarioRecord, type ScenarioStatus, type TargetResult } from './schema.ts';

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
    scenarios: ['node-credentials/', 'use-cases/private-registry-node-config', 'upgrade/node-config-json-honoured'],
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

function matches(id: string, pattern: string): boolean {
  return pattern.endsWith('/') ? id.startsWith(pattern) : id === pattern;
}

export function sectionsOf(id: string): PageSection[] {
  return PAGE_SECTIONS.filter((s) => s.scenarios.some((p) => matches(id, p)));
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

/** Each section with the run's scenarios that test it, then the scenarios no section names. */
export function pageView(targets: readonly TargetResult[]): { sections: SectionView[]; beyond: SectionView['rows'] } {
  return {
    sections: PAGE_SECTIONS.map((section) => ({ section, rows: rowsOf(targets, (id) => sectionsOf(id).includes(section)) })),
    beyond: rowsOf(targets, (id) => sectionsOf(id).length === 0),
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
