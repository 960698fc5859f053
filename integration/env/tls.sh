#!/usr/bin/env bash
# Creates the test environment's certificates in $ENV_DIR/tls (idempotent): a CA, a server
# certificate it signs for localhost and 127.0.0.1 (used by MariaDB and PostgreSQL), and a
# second, unrelated CA for the tests that expect verification to fail. Needs openssl.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/common.sh"

command -v openssl >/dev/null 2>&1 || {
	[ "$(id -u)" = 0 ] || die "openssl is missing; run as root or install it"
	log "installing openssl"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null; }
}
mkdir -p "$TLS_DIR"
cd "$TLS_DIR"
if [ -f server.pem ] && [ -f other-ca.pem ] && openssl verify -CAfile ca.pem server.pem >/dev/null 2>&1; then
	exit 0
fi
log "creating test certificates in $TLS_DIR"
ca() { # name subject
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$2" -keyout "$1-key.pem" -out "$1.pem" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
ca ca "replicator test CA"
ca other-ca "unrelated test CA"
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server-key.pem -out server.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 -extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext
# PostgreSQL refuses a key readable by others; MariaDB runs as root here.
chmod 644 ./*.pem
chmod 600 ./*-key.pem
if id postgres >/dev/null 2>&1; then
	cp server-key.pem pg-server-key.pem
	chown postgres pg-server-key.pem
	chmod 600 pg-server-key.pem
fi
