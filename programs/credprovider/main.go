// Command credprovider is a kubelet image credential provider plugin
// (credentialprovider.kubelet.k8s.io/v1) that pullcheck installs on a node: kubelet runs it with a
// CredentialProviderRequest on stdin for every image its CredentialProviderConfig matches, and it
// answers with a CredentialProviderResponse on stdout carrying the username and password of the one
// registry it was configured for (read from a file on the node, never from its arguments).
//
// In service-account-token mode (-require-token) it answers only when kubelet sent the pod's
// service account token, for the audience it was told to expect; otherwise it exits 1, which kubelet
// treats as "no credentials from this provider".
//
// Every request is recorded as one JSON line in the -log file (and on stderr): the image, what it
// decided, and of a token only whether it came and its non-secret claims (audience, subject, pod).
// Neither the password nor the token is ever written.
package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

const (
	apiVersion   = "credentialprovider.kubelet.k8s.io/v1"
	requestKind  = "CredentialProviderRequest"
	responseKind = "CredentialProviderResponse"
)

// request is the part of CredentialProviderRequest this plugin reads.
type request struct {
	APIVersion                string            `json:"apiVersion"`
	Kind                      string            `json:"kind"`
	Image                     string            `json:"image"`
	ServiceAccountToken       string            `json:"serviceAccountToken,omitempty"`
	ServiceAccountAnnotations map[string]string `json:"serviceAccountAnnotations,omitempty"`
}

type authConfig struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// response is a CredentialProviderResponse; cacheDuration is a metav1.Duration, i.e. a Go duration string.
type response struct {
	APIVersion    string                `json:"apiVersion"`
	Kind          string                `json:"kind"`
	CacheKeyType  string                `json:"cacheKeyType"`
	CacheDuration string                `json:"cacheDuration,omitempty"`
	Auth          map[string]authConfig `json:"auth,omitempty"`
}

// tokenFacts is what may be said about a service account token without revealing it.
type tokenFacts struct {
	Present        bool     `json:"present"`
	Audiences      []string `json:"audiences,omitempty"`
	Subject        string   `json:"subject,omitempty"`
	Namespace      string   `json:"namespace,omitempty"`
	ServiceAccount string   `json:"serviceAccount,omitempty"`
	Pod            string   `json:"pod,omitempty"`
	PodUID         string   `json:"podUID,omitempty"`
	Node           string   `json:"node,omitempty"`
	Expires        string   `json:"expires,omitempty"`
	Error          string   `json:"error,omitempty"`
}

// record is one line of the plugin's log.
type record struct {
	Time        string     `json:"time"`
	Image       string     `json:"image"`
	Registry    string     `json:"registry"`
	Decision    string     `json:"decision"`
	Detail      string     `json:"detail,omitempty"`
	Token       tokenFacts `json:"token"`
	Annotations []string   `json:"annotationKeys,omitempty"`
}

const (
	decisionServed        = "served"
	decisionOtherRegistry = "other-registry"
	decisionNoToken       = "refused-no-token"
	decisionWrongAudience = "refused-audience"
	decisionError         = "error"
)

type options struct {
	registry      string
	credentials   string
	logFile       string
	requireToken  bool
	audience      string
	cacheDuration time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.registry, "registry", "", "the registry host (with port) this provider serves")
	flag.StringVar(&o.credentials, "credentials", "", `file with {"username": ..., "password": ...} for that registry`)
	flag.StringVar(&o.logFile, "log", "", "file to append one JSON line per request to")
	flag.BoolVar(&o.requireToken, "require-token", false, "answer only when kubelet sent a service account token")
	flag.StringVar(&o.audience, "audience", "", "with -require-token: the audience the token must carry")
	flag.DurationVar(&o.cacheDuration, "cache-duration", 10*time.Second, "cacheDuration of the response (0: kubelet does not cache it)")
	flag.Parse()

	rec, resp, err := handle(o, os.Stdin)
	writeLog(o.logFile, rec)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pullcheck-credprovider: %s: %v\n", rec.Decision, err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(resp); err != nil {
		fmt.Fprintf(os.Stderr, "pullcheck-credprovider: writing the response: %v\n", err)
		os.Exit(1)
	}
}

// handle decides the answer to one request; it never returns the secret in the record.
func handle(o options, stdin io.Reader) (record, response, error) {
	rec := record{Time: time.Now().UTC().Format(time.RFC3339Nano), Decision: decisionError}
	if o.registry == "" || o.credentials == "" {
		return rec, response{}, errors.New("-registry and -credentials are required")
	}
	var req request
	if err := json.NewDecoder(stdin).Decode(&req); err != nil {
		return rec, response{}, fmt.Errorf("decoding the request from stdin: %w", err)
	}
	rec.Image = req.Image
	rec.Registry = registryOf(req.Image)
	rec.Token = describeToken(req.ServiceAccountToken)
	for k := range req.ServiceAccountAnnotations {
		rec.Annotations = append(rec.Annotations, k)
	}
	sort.Strings(rec.Annotations)
	if req.APIVersion != apiVersion || req.Kind != requestKind {
		return rec, response{}, fmt.Errorf("expected %s %s, got %q %q", apiVersion, requestKind, req.APIVersion, req.Kind)
	}

	resp := response{APIVersion: apiVersion, Kind: responseKind, CacheKeyType: "Image", CacheDuration: o.cacheDuration.String()}
	if rec.Registry != o.registry {
		// Not ours: an empty answer ("no credentials"), as the API asks of a plugin that has none.
		rec.Decision = decisionOtherRegistry
		rec.Detail = "this provider serves " + o.registry
		return rec, resp, nil
	}
	if o.requireToken {
		if !rec.Token.Present {
			rec.Decision = decisionNoToken
			return rec, response{}, errors.New("no serviceAccountToken in the request (is tokenAttributes set and the feature gate on?)")
		}
		if o.audience != "" && !contains(rec.Token.Audiences, o.audience) {
			rec.Decision = decisionWrongAudience
			return rec, response{}, fmt.Errorf("the token's audiences %v do not include %q", rec.Token.Audiences, o.audience)
		}
	}
	creds, err := readCredentials(o.credentials)
	if err != nil {
		return rec, response{}, err
	}
	resp.Auth = map[string]authConfig{o.registry: creds}
	rec.Decision = decisionServed
	return rec, resp, nil
}

func readCredentials(path string) (authConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return authConfig{}, fmt.Errorf("reading credentials: %w", err)
	}
	var c authConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return authConfig{}, fmt.Errorf("%s is not {\"username\", \"password\"} JSON", path)
	}
	if c.Username == "" || c.Password == "" {
		return authConfig{}, fmt.Errorf("%s has no username or password", path)
	}
	return c, nil
}

// registryOf returns the registry host of an image reference, as kubelet's matchImages sees it:
// the first path element when it looks like a host (has a dot or a port, or is localhost),
// docker.io otherwise.
func registryOf(image string) string {
	first, _, found := strings.Cut(image, "/")
	if found && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	return "docker.io"
}

// describeToken reads a JWT's claims without verifying it (kubelet got it from the API server);
// only the claims are kept, never the token.
func describeToken(token string) tokenFacts {
	if token == "" {
		return tokenFacts{}
	}
	facts := tokenFacts{Present: true}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		facts.Error = fmt.Sprintf("not a JWT (%d parts)", len(parts))
		return facts
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		facts.Error = "payload is not base64url"
		return facts
	}
	var claims struct {
		Aud        json.RawMessage `json:"aud"`
		Sub        string          `json:"sub"`
		Exp        int64           `json:"exp"`
		Kubernetes struct {
			Namespace string `json:"namespace"`
			Pod       struct {
				Name string `json:"name"`
				UID  string `json:"uid"`
			} `json:"pod"`
			ServiceAccount struct {
				Name string `json:"name"`
			} `json:"serviceaccount"`
			Node struct {
				Name string `json:"name"`
			} `json:"node"`
		} `json:"kubernetes.io"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		facts.Error = "payload is not JSON"
		return facts
	}
	// aud is a string or a list of strings.
	var one string
	if json.Unmarshal(claims.Aud, &one) == nil {
		facts.Audiences = []string{one}
	} else {
		_ = json.Unmarshal(claims.Aud, &facts.Audiences)
	}
	facts.Subject = claims.Sub
	facts.Namespace = claims.Kubernetes.Namespace
	facts.ServiceAccount = claims.Kubernetes.ServiceAccount.Name
	facts.Pod = claims.Kubernetes.Pod.Name
	facts.PodUID = claims.Kubernetes.Pod.UID
	facts.Node = claims.Kubernetes.Node.Name
	if claims.Exp > 0 {
		facts.Expires = time.Unix(claims.Exp, 0).UTC().Format(time.RFC3339)
	}
	return facts
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// writeLog appends the record to the log file and prints it on stderr (kubelet shows a plugin's
// stderr in its own log when the plugin fails).
func writeLog(path string, rec record) {
	line, err := json.Marshal(rec)
	if err != nil {
		return
	}
	fmt.Fprintf(os.Stderr, "pullcheck-credprovider: %s\n", line)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pullcheck-credprovider: opening %s: %v\n", path, err)
		return
	}
	defer f.Close()
	_, _ = f.Write(append(line, '\n'))
}
