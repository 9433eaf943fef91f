/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The node's self-signed certificate, like pve-ssl.pem on a fresh Proxmox
 * node, and its SHA-256 fingerprint for GET /nodes.
 */
#include "common.h"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "error.h"
#include "fileio.h"
#include "http.h"
#include "xalloc.h"

#define CERT_BITS  2048
#define CERT_YEARS 10
#define MAX_PEM    (1024 * 1024)

static void x509_crt_freep(gnutls_x509_crt_t *c)
{
	if (*c)
		gnutls_x509_crt_deinit(*c);
}

static void x509_key_freep(gnutls_x509_privkey_t *k)
{
	if (*k)
		gnutls_x509_privkey_deinit(*k);
}

static void privkey_freep(gnutls_privkey_t *k)
{
	if (*k)
		gnutls_privkey_deinit(*k);
}

static void datum_freep(gnutls_datum_t *d)
{
	gnutls_free(d->data);
	d->data = NULL;
}

#define TLS_CHECK(expr, what)                                                                     \
	do {                                                                                      \
		int _r = (expr);                                                                  \
		if (_r < 0)                                                                       \
			return error_set(err, -EIO, 500, "unable to create certificate: %s - %s", \
			                 what, gnutls_strerror(_r));                              \
	} while (0)

static int make_cert(const char *hostname, gnutls_datum_t *ret_cert, gnutls_datum_t *ret_key,
                     struct error **err)
{
	_cleanup_(x509_key_freep) gnutls_x509_privkey_t key = NULL;
	_cleanup_(privkey_freep) gnutls_privkey_t pkey = NULL;
	_cleanup_(x509_crt_freep) gnutls_x509_crt_t crt = NULL;

	TLS_CHECK(gnutls_x509_privkey_init(&key), "key init");
	TLS_CHECK(gnutls_x509_privkey_generate(key, GNUTLS_PK_RSA, CERT_BITS, 0), "key generation");
	TLS_CHECK(gnutls_privkey_init(&pkey), "key init");
	TLS_CHECK(gnutls_privkey_import_x509(pkey, key, 0), "key import");
	TLS_CHECK(gnutls_x509_crt_init(&crt), "certificate init");
	TLS_CHECK(gnutls_x509_crt_set_version(crt, 3), "version");

	unsigned char serial[16];
	TLS_CHECK(gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)), "serial");
	serial[0] &= 0x7f; /* positive */
	serial[0] |= 0x01; /* and without a leading zero byte */
	TLS_CHECK(gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)), "serial");

	time_t now = time(NULL);
	TLS_CHECK(gnutls_x509_crt_set_activation_time(crt, now - 24 * 3600), "activation time");
	TLS_CHECK(
	    gnutls_x509_crt_set_expiration_time(crt, now + (time_t)CERT_YEARS * 365 * 24 * 3600),
	    "expiration time");
	TLS_CHECK(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, hostname,
	                                        strlen(hostname)),
	          "common name");
	static const char org[] = "ctvm";
	TLS_CHECK(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, org,
	                                        strlen(org)),
	          "organisation");
	TLS_CHECK(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, hostname,
	                                               strlen(hostname), GNUTLS_FSAN_APPEND),
	          "subject alt name");
	if (!streq(hostname, "localhost"))
		TLS_CHECK(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost",
		                                               strlen("localhost"),
		                                               GNUTLS_FSAN_APPEND),
		          "subject alt name");
	unsigned char ip[4] = {127, 0, 0, 1};
	TLS_CHECK(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, sizeof(ip),
	                                               GNUTLS_FSAN_APPEND),
	          "subject alt name");
	TLS_CHECK(gnutls_x509_crt_set_basic_constraints(crt, 0, -1), "basic constraints");
	TLS_CHECK(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
	                                                 GNUTLS_KEY_KEY_ENCIPHERMENT),
	          "key usage");
	TLS_CHECK(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0),
	          "key purpose");
	TLS_CHECK(gnutls_x509_crt_set_key(crt, key), "public key");

	unsigned char kid[64];
	size_t kid_len = sizeof(kid);
	TLS_CHECK(gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, kid, &kid_len), "key id");
	TLS_CHECK(gnutls_x509_crt_set_subject_key_id(crt, kid, kid_len), "key id");
	TLS_CHECK(gnutls_x509_crt_privkey_sign(crt, crt, pkey, GNUTLS_DIG_SHA256, 0), "signing");

	TLS_CHECK(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, ret_cert), "export");
	int r = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, ret_key);
	if (r < 0) {
		gnutls_free(ret_cert->data);
		ret_cert->data = NULL;
		return error_set(err, -EIO, 500, "unable to create certificate: export - %s",
		                 gnutls_strerror(r));
	}
	return 0;
}

int http_tls_ensure_cert(const char *cert_path, const char *key_path, const char *hostname,
                         struct error **err)
{
	if (access(cert_path, F_OK) == 0 && access(key_path, F_OK) == 0)
		return 0;
	char host[256];
	if (!hostname || !*hostname) {
		if (gethostname(host, sizeof(host)) < 0 || !host[0])
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		hostname = host;
	}
	_cleanup_(datum_freep) gnutls_datum_t cert = {0};
	_cleanup_(datum_freep) gnutls_datum_t key = {0};
	int r = make_cert(hostname, &cert, &key, err);
	if (r < 0)
		return r;
	/* the key first: a certificate without its key would be useless */
	r = write_file_atomic(key_path, key.data, key.size, 0600, err);
	if (r < 0)
		return r;
	return write_file_atomic(cert_path, cert.data, cert.size, 0644, err);
}

char *http_tls_cert_fingerprint(const char *cert_path, struct error **err)
{
	_cleanup_free_ char *pem = NULL;
	size_t len = 0;
	if (read_file(cert_path, MAX_PEM, &pem, &len, err) < 0)
		return NULL;
	_cleanup_(x509_crt_freep) gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d = {.data = (unsigned char *)pem, .size = (unsigned)len};
	unsigned char fp[32];
	size_t fp_len = sizeof(fp);
	int r = gnutls_x509_crt_init(&crt);
	if (r >= 0)
		r = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM);
	if (r >= 0)
		r = gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &fp_len);
	if (r < 0) {
		error_set(err, -EINVAL, 500, "unable to read certificate '%s' - %s", cert_path,
		          gnutls_strerror(r));
		return NULL;
	}
	char *out = xmalloc(fp_len * 3 + 1);
	for (size_t i = 0; i < fp_len; i++)
		snprintf(out + i * 3, 4, "%02X%s", fp[i], i + 1 < fp_len ? ":" : "");
	return out;
}
