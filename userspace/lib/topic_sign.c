// SPDX-License-Identifier: BSD-2-Clause
/*
 * Envelope signatures. SNS signs every notification with an RSA key whose
 * certificate it serves at SigningCertURL; receivers verify. bpfbus does the
 * same with a key of its own, created with the store and kept in it, and a
 * self-signed certificate for it (the HTTP API serves it at
 * topic_signing_cert_path). SignatureVersion 1 is SHA1withRSA, 2 SHA256withRSA.
 */
#include "topic_int.h"
#include "strbuf.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

const char topic_signing_cert_path[] = "/SimpleNotificationService-bpfbus.pem";

static const MDB_val key_key = { .mv_size = 11, .mv_data = "signing-key" };
static const MDB_val cert_key = { .mv_size = 12, .mv_data = "signing-cert" };

static char *bio_string(BIO *b)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);

	return xstrndup(p, (size_t)n);
}

static X509 *self_signed(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name;

	if (!x)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400L);
	X509_gmtime_adj(X509_getm_notAfter(x), 20L * 365 * 86400);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"sns.bpfbus",
				   -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (!X509_sign(x, key, EVP_sha256())) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* A new key and certificate, stored as PEM in the meta database. */
static int create_key(struct topic_store *ts, MDB_txn *txn, struct topic_result *res)
{
	BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
	X509 *x = NULL;
	char *kpem = NULL;
	int rc = -1;

	ts->key = EVP_RSA_gen(2048);
	if (!ts->key || !kb || !cb || !(x = self_signed(ts->key)) ||
	    !PEM_write_bio_PrivateKey(kb, ts->key, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_bio_X509(cb, x)) {
		terr(res, TE_INTERNAL_ERROR, "Cannot create the envelope signing key");
		goto out;
	}
	kpem = bio_string(kb);
	ts->cert_pem = bio_string(cb);
	MDB_val kv = { .mv_size = strlen(kpem), .mv_data = kpem };
	MDB_val cv = { .mv_size = strlen(ts->cert_pem), .mv_data = ts->cert_pem };
	int mrc = mdb_put(txn, ts->dbi[TDB_META], (MDB_val *)&key_key, &kv, 0);

	if (!mrc)
		mrc = mdb_put(txn, ts->dbi[TDB_META], (MDB_val *)&cert_key, &cv, 0);
	rc = mrc ? terr_mdb(res, mrc) : 0;
out:
	free(kpem);
	X509_free(x);
	BIO_free(kb);
	BIO_free(cb);
	return rc;
}

static int load_or_create(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	MDB_val kv, cv;
	int rc = mdb_get(txn, ts->dbi[TDB_META], (MDB_val *)&key_key, &kv);

	(void)arg;
	if (rc == MDB_NOTFOUND)
		return create_key(ts, txn, res);
	if (!rc)
		rc = mdb_get(txn, ts->dbi[TDB_META], (MDB_val *)&cert_key, &cv);
	if (rc)
		return terr_mdb(res, rc);
	BIO *b = BIO_new_mem_buf(kv.mv_data, (int)kv.mv_size);

	ts->key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!ts->key)
		return terr(res, TE_INTERNAL_ERROR, "The stored envelope signing key is corrupt");
	ts->cert_pem = xstrndup(cv.mv_data, cv.mv_size);
	return 0;
}

int tsign_init(struct topic_store *ts, struct topic_result *res)
{
	return ttxn_write(ts, load_or_create, NULL, res);
}

void tsign_free(struct topic_store *ts)
{
	EVP_PKEY_free(ts->key);
	free(ts->cert_pem);
	ts->key = NULL;
	ts->cert_pem = NULL;
}

int tsign(struct topic_store *ts, const char *version, const char *text, struct strbuf *sig)
{
	const EVP_MD *md = version && !strcmp(version, "2") ? EVP_sha256() : EVP_sha1();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char raw[1024];
	size_t len = sizeof(raw);
	int ok = ctx && EVP_DigestSignInit(ctx, NULL, md, NULL, ts->key) == 1 &&
		 EVP_DigestSign(ctx, raw, &len, (const unsigned char *)text, strlen(text)) == 1;

	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	sb_reserve(sig, 4 * ((len + 2) / 3) + 1);
	sig->len += (size_t)EVP_EncodeBlock((unsigned char *)sig->buf + sig->len, raw, (int)len);
	sig->buf[sig->len] = '\0';
	return 0;
}
