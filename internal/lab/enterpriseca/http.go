package enterpriseca

import (
	"net/http"
	"net/url"
)

// Handler serves the last published CRLs at the paths of CDPURL and DeltaURL, as the CA's HTTP distribution point
// (an IIS virtual directory such as /CertEnroll on Windows) serves the files the CA writes.
func (a *Authority) Handler() http.Handler {
	basePath, deltaPath := urlPath(a.opts.CDPURL), urlPath(a.opts.DeltaURL)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		switch {
		case r.Method != http.MethodGet:
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return
		case r.URL.Path == basePath:
			body = a.CRL()
		case deltaPath != "" && r.URL.Path == deltaPath:
			body = a.DeltaCRL()
		}
		if body == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		_, _ = w.Write(body)
	})
}

func urlPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return ""
	}
	return u.Path
}
