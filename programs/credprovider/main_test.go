package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testOptions(t *testing.T) options {
	t.Helper()
	creds := filepath.Join(t.TempDir(), "credentials.json")
	if err := os.WriteFile(creds, []byte(`{"username":"alice","password":"s3cret-pw"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return options{registry: "reg.example:5000", credentials: creds}
}

func req(image, token string) *strings.Reader {
	b, _ := json.Marshal(request{APIVersion: apiVersion, Kind: requestKind, Image: image, ServiceAccountToken: token})
	return strings.NewReader(string(b))
}

func jwt(claims string) string {
	return "h." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".sig"
}

func TestServesOnlyItsRegistry(t *testing.T) {
	o := testOptions(t)
	rec, resp, err := handle(o, req("reg.example:5000/a/b", ""))
	if err != nil || rec.Decision != decisionServed || resp.Auth["reg.example:5000"].Password != "s3cret-pw" || resp.CacheKeyType != "Image" {
		t.Fatalf("served: %+v %+v %v", rec, resp, err)
	}
	line, _ := json.Marshal(rec)
	if strings.Contains(string(line), "s3cret-pw") {
		t.Fatalf("the record holds the password: %s", line)
	}
	rec, resp, err = handle(o, req("other.example:5000/a/b", ""))
	if err != nil || rec.Decision != decisionOtherRegistry || resp.Auth != nil {
		t.Fatalf("other registry: %+v %+v %v", rec, resp, err)
	}
}

func TestTokenMode(t *testing.T) {
	o := testOptions(t)
	o.requireToken, o.audience = true, "aud"
	if rec, _, err := handle(o, req("reg.example:5000/a", "")); err == nil || rec.Decision != decisionNoToken {
		t.Fatalf("no token: %+v %v", rec, err)
	}
	if rec, _, err := handle(o, req("reg.example:5000/a", jwt(`{"aud":"other"}`))); err == nil || rec.Decision != decisionWrongAudience {
		t.Fatalf("wrong audience: %+v %v", rec, err)
	}
	token := jwt(`{"aud":["aud"],"sub":"system:serviceaccount:ns:sa","kubernetes.io":{"namespace":"ns","pod":{"name":"p","uid":"u"},"serviceaccount":{"name":"sa"},"node":{"name":"n"}}}`)
	rec, resp, err := handle(o, req("reg.example:5000/a", token))
	if err != nil || rec.Decision != decisionServed || resp.Auth == nil {
		t.Fatalf("token: %+v %v", rec, err)
	}
	want := tokenFacts{Present: true, Audiences: []string{"aud"}, Subject: "system:serviceaccount:ns:sa", Namespace: "ns", ServiceAccount: "sa", Pod: "p", PodUID: "u", Node: "n"}
	got, _ := json.Marshal(rec.Token)
	exp, _ := json.Marshal(want)
	if string(got) != string(exp) {
		t.Fatalf("token facts %s, want %s", got, exp)
	}
	if line, _ := json.Marshal(rec); strings.Contains(string(line), token) {
		t.Fatal("the record holds the token")
	}
}

func TestRegistryOf(t *testing.T) {
	for image, want := range map[string]string{"reg:5000/a": "reg:5000", "reg.io/a/b": "reg.io", "localhost/a": "localhost", "library/a": "docker.io", "a": "docker.io"} {
		if got := registryOf(image); got != want {
			t.Errorf("registryOf(%q) = %q, want %q", image, got, want)
		}
	}
}
