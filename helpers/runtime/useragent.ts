// How a node runtime's own registry requests show in an access log, for readers that hold no
// posture: containerd's User-Agent ("containerd/2.x") or CRI-O's ("cri-o/1.34.0 go/…"); pullcheck's
// own tools match neither.
export const ANY_NODE_RUNTIME_AGENT = /containerd|cri-o/i;
