// What a node's kubelet reports of its pull settings (configz and its version), read for checking
// the declared posture. Apart from the rules in imagepulls.ts and kep2535.ts, which load no
// cluster code: the declared posture and jest's reporter read those.
import type { Kube } from '../cluster/kube.ts';
import { readKubeletConfigz } from './config.ts';
import { type ImagePullSettings, imagePullSettingsFromConfigz } from './imagepulls.ts';
import { type KubeletPullSettings, pullSettingsFromConfigz } from './kep2535.ts';

/** The node's image pull settings (serialized or parallel pulls), from its configz endpoint. */
export async function readImagePullSettings(kube: Kube, node: string): Promise<ImagePullSettings> {
  return imagePullSettingsFromConfigz(await readKubeletConfigz(kube, node));
}

/** The node's kubelet settings for KEP-2535, from its configz endpoint and its reported version. */
export async function readKubeletPullSettings(kube: Kube, node: string): Promise<KubeletPullSettings> {
  const kubeletconfig = await readKubeletConfigz(kube, node);
  const version = (await kube.core.readNode({ name: node })).status?.nodeInfo?.kubeletVersion ?? '';
  return pullSettingsFromConfigz({ kubeletconfig }, version);
}
