/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The node's authentication keys (pve-api.md 2.3, 2.6): the RSA key pair
 * that signs tickets and the secret the CSRF tokens are MACed with.  Missing
 * keys are generated on first start; existing ones are always kept, so
 * tickets survive a restart.
 */
#define LOG_CATEGORY "access"
#include "common.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sys/stat.h>
#include <time.h>

#include "auth-priv.h"
#include "auth.h"
#include "error.h"
#include "fileio.h"
#include "log.h"
#include "xalloc.h"

#define KEY_FILE_MAX  (64 * 1024)
#define RSA_KEY_BITS  2048
#define CSRF_KEY_SIZE 32
#define LOCK_TIMEOUT  (30 * 1000)

/*
 * Returns 1 when path exists (a regular file, now mode 0600 if it was group-
 * or world-accessible: an admin's slip is repaired rather than refused), 0
 * when it is missing.
 */
static int secret_file_check(const char *path, struct error **err)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return error_set(err, -errno, 500, "unable to stat '%s' - %s", path,
		                 strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return error_set(err, -EINVAL, 500, "'%s' is not a regular file", path);
	if ((st.st_mode & 077) != 0) {
		if (chmod(path, 0600) < 0)
			return error_set(err, -errno, 500, "unable to set mode of '%s' - %s", path,
			                 strerror(errno));
		log_debug("fixed mode of '%s' to 0600", path);
	}
	return 1;
}

static int gnutls_error(struct error **err, const char *what, const char *path, int gr)
{
	return error_set(err, -EINVAL, 500, "unable to %s '%s' - %s", what, path,
	                 gnutls_strerror(gr));
}

static void free_secret_datum(gnutls_datum_t *d)
{
	if (d->data) {
		explicit_bzero(d->data, d->size);
		gnutls_free(d->data);
		d->data = NULL;
	}
}

static int generate_privkey(const char *path, gnutls_x509_privkey_t x, struct error **err)
{
	int gr = gnutls_x509_privkey_generate(x, GNUTLS_PK_RSA, RSA_KEY_BITS, 0);
	if (gr < 0)
		return gnutls_error(err, "generate key", path, gr);
	gnutls_datum_t pem = {NULL, 0};
	gr = gnutls_x509_privkey_export2(x, GNUTLS_X509_FMT_PEM, &pem);
	if (gr < 0)
		return gnutls_error(err, "export key", path, gr);
	int r = write_file_atomic(path, pem.data, pem.size, 0600, err);
	free_secret_datum(&pem);
	return r;
}

static int read_privkey(const char *path, gnutls_x509_privkey_t x, struct error **err)
{
	_cleanup_free_ char *pem = NULL;
	size_t len;
	int r = read_file(path, KEY_FILE_MAX, &pem, &len, err);
	if (r < 0)
		return r;
	gnutls_datum_t d = {(unsigned char *)pem, (unsigned)len};
	int gr = gnutls_x509_privkey_import2(x, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	explicit_bzero(pem, len);
	if (gr < 0)
		return gnutls_error(err, "parse key", path, gr);
	unsigned bits = 0;
	if (gnutls_x509_privkey_get_pk_algorithm2(x, &bits) != GNUTLS_PK_RSA || bits < RSA_KEY_BITS)
		return error_set(err, -EINVAL, 500,
		                 "key '%s' is not an RSA key of at least %d bits", path,
		                 RSA_KEY_BITS);
	return 0;
}

static int load_privkey(struct auth_keys *k, const char *path, struct error **err)
{
	gnutls_x509_privkey_t x = NULL;
	int gr = gnutls_x509_privkey_init(&x);
	if (gr < 0)
		return gnutls_error(err, "load key", path, gr);
	int r = secret_file_check(path, err);
	if (r == 0)
		r = generate_privkey(path, x, err);
	else if (r > 0)
		r = read_privkey(path, x, err);
	if (r < 0) {
		gnutls_x509_privkey_deinit(x);
		return r;
	}
	gr = gnutls_privkey_init(&k->priv);
	if (gr >= 0)
		gr = gnutls_privkey_import_x509(k->priv, x, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
	if (gr < 0) {
		gnutls_x509_privkey_deinit(x);
		return gnutls_error(err, "load key", path, gr);
	}
	return 0;
}

/* The public key is derived from the private one; the file is (re)written
 * when missing or stale, for whoever wants to verify tickets elsewhere. */
static int load_pubkey(struct auth_keys *k, const char *path, struct error **err)
{
	int gr = gnutls_pubkey_init(&k->pub);
	if (gr >= 0)
		gr = gnutls_pubkey_import_privkey(k->pub, k->priv, 0, 0);
	if (gr < 0)
		return gnutls_error(err, "derive public key", path, gr);
	gnutls_datum_t pem = {NULL, 0};
	gr = gnutls_pubkey_export2(k->pub, GNUTLS_X509_FMT_PEM, &pem);
	if (gr < 0)
		return gnutls_error(err, "export public key", path, gr);

	_cleanup_free_ char *old = NULL;
	size_t old_len = 0;
	struct error *e = NULL;
	int r = 0;
	if (read_file(path, KEY_FILE_MAX, &old, &old_len, &e) < 0 || old_len != pem.size ||
	    memcmp(old, pem.data, old_len) != 0)
		r = write_file_atomic(path, pem.data, pem.size, 0644, err);
	error_free(e);
	gnutls_free(pem.data);
	return r;
}

static int load_csrf_secret(struct auth_keys *k, const char *path, struct error **err)
{
	int r = secret_file_check(path, err);
	if (r < 0)
		return r;
	if (r == 0) {
		uint8_t raw[CSRF_KEY_SIZE];
		auth_random_bytes(raw, sizeof(raw));
		_cleanup_free_ char *b64 = auth_base64_encode(raw, sizeof(raw), true);
		_cleanup_free_ char *text = xasprintf("%s\n", b64);
		r = write_file_atomic(path, text, strlen(text), 0600, err);
		if (r < 0)
			return r;
		memcpy(k->csrf_secret, raw, sizeof(raw));
		k->csrf_secret_len = sizeof(raw);
		explicit_bzero(raw, sizeof(raw));
		explicit_bzero(b64, strlen(b64));
		explicit_bzero(text, strlen(text));
		return 0;
	}

	_cleanup_free_ char *text = NULL;
	size_t len;
	r = read_file(path, 4096, &text, &len, err);
	if (r < 0)
		return r;
	while (len > 0 && strchr(" \t\r\n", text[len - 1]))
		len--;
	_cleanup_free_ uint8_t *raw = NULL;
	size_t raw_len = 0;
	r = auth_base64_decode(text, len, &raw, &raw_len);
	explicit_bzero(text, len);
	if (r < 0 || raw_len < AUTH_CSRF_SECRET_MIN || raw_len > AUTH_CSRF_SECRET_MAX) {
		if (raw)
			explicit_bzero(raw, raw_len);
		return error_set(err, -EINVAL, 500,
		                 "CSRF secret '%s' is not base64 of %d to %d bytes", path,
		                 AUTH_CSRF_SECRET_MIN, AUTH_CSRF_SECRET_MAX);
	}
	memcpy(k->csrf_secret, raw, raw_len);
	k->csrf_secret_len = raw_len;
	explicit_bzero(raw, raw_len);
	return 0;
}

int auth_keys_load(const char *etc_dir, const char *priv_dir, struct auth_keys **ret,
                   struct error **err)
{
	_cleanup_free_ char *key_path = path_join(priv_dir, "authkey.key");
	_cleanup_free_ char *pub_path = path_join(etc_dir, "authkey.pub");
	_cleanup_free_ char *csrf_path = path_join(priv_dir, "csrf.key");

	/* Two processes starting at once must not each generate a key. */
	int lock = lock_file(key_path, LOCK_TIMEOUT, err);
	if (lock < 0)
		return lock;

	struct auth_keys *k = xnew(struct auth_keys, 1);
	pthread_mutex_init(&k->sign_lock, NULL);
	k->cache = xnew(struct auth_ticket_cache, 1);
	pthread_mutex_init(&k->cache->lock, NULL);
	if (gnutls_rnd(GNUTLS_RND_NONCE, &k->cache->seed, sizeof(k->cache->seed)) < 0)
		k->cache->seed = (uint64_t)time(NULL); /* only spreads the slots */
	int r = load_privkey(k, key_path, err);
	if (r >= 0)
		r = load_pubkey(k, pub_path, err);
	if (r >= 0)
		r = load_csrf_secret(k, csrf_path, err);
	unlock_file(lock);
	if (r < 0) {
		auth_keys_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

struct auth_keys *auth_keys_free(struct auth_keys *k)
{
	if (!k)
		return NULL;
	if (k->priv)
		gnutls_privkey_deinit(k->priv);
	if (k->pub)
		gnutls_pubkey_deinit(k->pub);
	pthread_mutex_destroy(&k->sign_lock);
	if (k->cache) {
		pthread_mutex_destroy(&k->cache->lock);
		for (size_t i = 0; i < AUTH_TICKET_CACHE_SLOTS; i++)
			free(k->cache->ticket[i]);
		free(k->cache);
	}
	explicit_bzero(k->csrf_secret, sizeof(k->csrf_secret));
	free(k);
	return NULL;
}
