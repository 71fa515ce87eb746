// Command blobhost serves a directory read-only over HTTPS: the blob storage host a registry with
// distribution's redirect middleware sends blob downloads to. It serves the registry's storage
// directory (mounted read-only) at /, which is the path the middleware appends to its baseurl, and
// logs every request as distribution does, so that a scenario can prove the blobs came from here.
// With -delay, every GET waits that long before it is answered: a slow blob store, which makes how
// long each download lasts, and which downloads overlap, readable from the log (each request's line
// carries its start beside its end).
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", ":8443", "listen address")
	root := flag.String("root", "/var/lib/registry", "directory to serve")
	cert := flag.String("cert", "/certs/tls.crt", "TLS certificate (PEM)")
	key := flag.String("key", "/certs/tls.key", "TLS key (PEM)")
	delay := flag.Duration("delay", 0, "how long every GET waits before it is answered")
	flag.Parse()

	files := http.FileServer(noListing{http.Dir(*root)})
	// stderr, beside the log package's lines: one stream, in order, for `docker logs`.
	enc := json.NewEncoder(os.Stderr)
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now().UTC()
		rec := &recorder{ResponseWriter: w}
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			http.Error(rec, "read-only", http.StatusMethodNotAllowed)
		} else {
			if req.Method == http.MethodGet && *delay > 0 {
				select {
				case <-time.After(*delay):
				case <-req.Context().Done():
				}
			}
			files.ServeHTTP(rec, req)
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		_ = enc.Encode(map[string]any{
			"time":                    time.Now().UTC().Format(time.RFC3339Nano),
			"http.request.start":      start.Format(time.RFC3339Nano),
			"msg":                     "response completed",
			"http.request.method":     req.Method,
			"http.request.uri":        req.URL.RequestURI(),
			"http.request.remoteaddr": req.RemoteAddr,
			"http.response.status":    rec.status,
			"http.request.useragent":  req.UserAgent(),
		})
	})
	server := &http.Server{Addr: *addr, Handler: handler, ReadHeaderTimeout: 30 * time.Second}
	log.SetFlags(0)
	log.Printf("blob host listening on %s, serving %s, answering GETs after %s", *addr, *root, *delay)
	log.Fatal(server.ListenAndServeTLS(*cert, *key))
}

// noListing refuses directories: the host serves blobs by their exact path, never an index of them.
type noListing struct{ fs http.FileSystem }

func (n noListing) Open(name string) (http.File, error) {
	f, err := n.fs.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, os.ErrNotExist
	}
	return f, nil
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
