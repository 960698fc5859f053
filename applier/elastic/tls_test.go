package elastic

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replicator/replicator/config"
	"github.com/replicator/replicator/fault"
)

// testCA makes a CA and returns its PEM file and a server certificate it signs for the
// given names and IPs.
func testCA(t *testing.T, dir, name string, dns []string, ips []net.IP) (caFile string, server tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "es"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), DNSNames: dns, IPAddresses: ips, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(dir, name+".pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestClientVerifiesServerCertificate: the client built from target.elasticsearch trusts
// exactly ca_file, checks the host name, and sends its credentials only over the verified
// connection. (The local test node has no TLS: its launcher lacks x-pack, which provides
// HTTPS in Elasticsearch; this runs the client against a TLS server of its own.)
func TestClientVerifiesServerCertificate(t *testing.T) {
	dir := t.TempDir()
	caFile, cert := testCA(t, dir, "ca", []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	otherCA, _ := testCA(t, dir, "other", nil, nil)
	var gotAuth string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"cluster_name":"tls-test","version":{"number":"8.19.0"}}`))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	srv.StartTLS()
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	ctx := context.Background()
	info := func(addr, ca string) (ServerInfo, error) {
		c, err := NewClient(config.Elasticsearch{Addresses: []string{addr}, Username: "u", Password: "secret-pw", CAFile: ca})
		if err != nil {
			return ServerInfo{}, err
		}
		return Info(ctx, c)
	}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		got, err := info("https://"+net.JoinHostPort(host, itoa(port)), caFile)
		if err != nil || got.ClusterName != "tls-test" {
			t.Fatalf("%s with the right CA: %+v %v", host, got, err)
		}
		if !strings.HasPrefix(gotAuth, "Basic ") {
			t.Errorf("credentials not sent: %q", gotAuth)
		}
	}
	gotAuth = ""
	untrusted := "TLS certificate rejected: not signed by a trusted CA (tls: failed to verify certificate: x509: certificate signed by unknown authority): set target.elasticsearch.ca_file to the CA that signed the cluster's certificate"
	for _, ca := range []string{otherCA, ""} { // another CA, the system roots
		_, err := info("https://127.0.0.1:"+itoa(port), ca)
		if err == nil || !strings.Contains(err.Error(), untrusted) || !errors.Is(err, fault.ErrCertificate) {
			t.Errorf("ca_file %q: %v, want an error marked fault.ErrCertificate saying %q", ca, err, untrusted)
		}
	}
	// server_name: the name verified instead of the address's host.
	_, err := func() (ServerInfo, error) {
		c, err := NewClient(config.Elasticsearch{Addresses: []string{"https://127.0.0.1:" + itoa(port)}, CAFile: caFile, ServerName: "wrong.example"})
		if err != nil {
			return ServerInfo{}, err
		}
		return Info(ctx, c)
	}()
	if want := `TLS certificate rejected: it is not valid for the host name "wrong.example"`; err == nil || !strings.Contains(err.Error(), want) ||
		!strings.Contains(err.Error(), "set target.elasticsearch.server_name to one") {
		t.Errorf("server_name wrong.example: %v, want %q and the keys to fix", err, want)
	}
	// A server whose certificate, from a trusted CA, names another host.
	wrongCA, wrongCert := testCA(t, dir, "wrong", []string{"wrong.example"}, nil)
	wrong := httptest.NewUnstartedServer(srv.Config.Handler)
	wrong.TLS = &tls.Config{Certificates: []tls.Certificate{wrongCert}}
	wrong.Config.ErrorLog = log.New(io.Discard, "", 0)
	wrong.StartTLS()
	defer wrong.Close()
	if _, err := info(wrong.URL, wrongCA); err == nil || !strings.Contains(err.Error(), "127.0.0.1 because it doesn't contain any IP SANs") {
		t.Errorf("a host name the certificate does not list: %v, want a host name error", err)
	}
	if gotAuth != "" {
		t.Errorf("credentials sent over an unverified connection: %q", gotAuth)
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

// TestRefusedCredentialsAreAccessDenied: a 401, or a 403 from the security layer, is
// refused access (retried for apply.access_denied_retry, then a stop), a 403 index block
// is not: it is a target fault, transient, with the block named.
func TestRefusedCredentialsAreAccessDenied(t *testing.T) {
	for _, c := range []struct {
		status    int
		body      string
		denied    bool
		transient bool
	}{
		{401, `{"error":{"type":"security_exception","reason":"unable to authenticate user [u]"}}`, true, false},
		{403, `{"error":{"type":"security_exception","reason":"action [indices:data/write/bulk] is unauthorized"}}`, true, false},
		{403, `{"error":{"type":"cluster_block_exception","reason":"index [x] blocked by: [FORBIDDEN/8/index write (api)]"}}`, false, true},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Elastic-Product", "Elasticsearch")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(c.status)
			_, _ = w.Write([]byte(c.body))
		}))
		cl, err := NewClient(config.Elasticsearch{Addresses: []string{srv.URL}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = call(context.Background(), cl, "POST", "/_bulk", nil, []byte("{}\n"), nil)
		srv.Close()
		if got := errors.Is(err, fault.ErrAccessDenied); got != c.denied {
			t.Errorf("%d %s: access denied = %v, want %v (%v)", c.status, c.body, got, c.denied, err)
		}
		if got := errors.Is(err, fault.ErrTransient); got != c.transient {
			t.Errorf("%d %s: transient = %v, want %v (%v)", c.status, c.body, got, c.transient, err)
		}
		var he *httpError
		if c.transient && (!errors.As(err, &he) || he.Type != "cluster_block_exception" || !strings.Contains(err.Error(), "write-blocked")) {
			t.Errorf("%d %s: %v does not name the block or lost the *httpError", c.status, c.body, err)
		}
	}
}
