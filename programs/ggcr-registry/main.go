// Command ggcr-registry serves go-containerregistry's registry (pkg/registry): an implementation of
// the OCI distribution API independent of CNCF distribution, so that a suite can prove nodes pull
// from more than one server. HTTPS with the suite's certificate; one JSON access-log line per
// request in distribution's shape, so pullcheck reads both registries' logs the same way.
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := flag.String("addr", ":5000", "listen address")
	cert := flag.String("cert", "/certs/tls.crt", "TLS certificate (PEM); empty for plain HTTP")
	key := flag.String("key", "/certs/tls.key", "TLS key (PEM)")
	flag.Parse()

	// ggcr's own request log is free text; the access log below is what pullcheck parses.
	handler := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	server := &http.Server{Addr: *addr, Handler: accessLog(handler), ReadHeaderTimeout: 30 * time.Second}
	log.SetFlags(0)
	log.Printf("ggcr registry listening on %s", *addr)
	var err error
	if *cert == "" {
		err = server.ListenAndServe()
	} else {
		err = server.ListenAndServeTLS(*cert, *key)
	}
	log.Fatal(err)
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// accessLog writes distribution's "response completed" line (the fields helpers/registry/accesslog.ts reads).
func accessLog(next http.Handler) http.Handler {
	// stderr, beside the log package's lines: one stream, in order, for `docker logs`.
	enc := json.NewEncoder(os.Stderr)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, req)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		_ = enc.Encode(map[string]any{
			"time":                    time.Now().UTC().Format(time.RFC3339Nano),
			"msg":                     "response completed",
			"http.request.method":     req.Method,
			"http.request.uri":        req.URL.RequestURI(),
			"http.request.remoteaddr": req.RemoteAddr,
			"http.response.status":    rec.status,
			"http.request.useragent":  req.UserAgent(),
		})
	})
}
