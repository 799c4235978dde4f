/* common/htab: the keyed hash is SipHash-2-4 (checked against the reference
 * vectors of the SipHash paper: key 00 01 .. 0f, message 00 01 .. of length
 * 0 to 63, output bytes in order) and the table finds what it holds, from a
 * zeroed table on, and hands every record back when cleared. */
#include <stdio.h>
#include <string.h>

#include "common/htab.h"
#include "testutil.h"

static const char *const siphash24_vectors[64] = {
	"310e0edd47db6f72", "fd67dc93c539f874", "5a4fa9d909806c0d", "2d7efbd796666785",
	"b7877127e09427cf", "8da699cd64557618", "cee3fe586e46c9cb", "37d1018bf50002ab",
	"6224939a79f5f593", "b0e4a90bdf82009e", "f3b9dd94c5bb5d7a", "a7ad6b22462fb3f4",
	"fbe50e86bc8f1e75", "903d84c02756ea14", "eef27a8e90ca23f7", "e545be4961ca29a1",
	"db9bc2577fcc2a3f", "9447be2cf5e99a69", "9cd38d96f0b3c14b", "bd6179a71dc96dbb",
	"98eea21af25cd6be", "c7673b2eb0cbf2d0", "883ea3e395675393", "c8ce5ccd8c030ca8",
	"94af49f6c650adb8", "eab8858ade92e1bc", "f315bb5bb835d817", "adcf6b0763612e2f",
	"a5c91da7acaa4dde", "716595876650a2a6", "28ef495c53a387ad", "42c341d8fa92d832",
	"ce7cf2722f512771", "e37859f94623f3a7", "381205bb1ab0e012", "ae97a10fd434e015",
	"b4a31508beff4d31", "81396229f0907902", "4d0cf49ee5d4dcca", "5c73336a76d8bf9a",
	"d0a704536ba93e0e", "925958fcd6420cad", "a915c29bc8067318", "952b79f3bc0aa6d4",
	"f21df2e41d4535f9", "87577519048f53a9", "10a56cf5dfcd9adb", "eb75095ccd986cd0",
	"51a9cb9ecba312e6", "96afadfc2ce666c7", "72fe52975a4364ee", "5a1645b276d592a1",
	"b274cb8ebf87870a", "6f9bb4203de7b381", "eaecb2a30b22a87f", "9924a43cc1315724",
	"bd838d3aafbf8db7", "0b1a2a3265d51aea", "135079a3231ce660", "932b2846e4d70666",
	"e1915f5cb1eca46c", "f325965ca16d629f", "575ff28e60381be5", "724506eb4c328a95",
};

static void
test_siphash24_reference_vectors(void)
{
	unsigned char key[HTAB_KEY_BYTES], msg[64];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)i;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)i;
	for (size_t len = 0; len < 64; len++) {
		uint64_t h = htab_hash_keyed(key, msg, len);
		char got[17];

		/* The hash's bytes in the vector's order: least significant first. */
		for (int b = 0; b < 8; b++)
			snprintf(got + 2 * b, 3, "%02x", (unsigned)((h >> (8 * b)) & 0xff));
		testutil_check(strcmp(got, siphash24_vectors[len]) == 0, __FILE__, __LINE__,
		    "SipHash-2-4 of %zu bytes: %s, want %s", len, got, siphash24_vectors[len]);
	}
}

struct item {
	struct htab_node node;
	char name[16];
};

static int
item_match(const struct htab_node *n, const void *key)
{
	return strcmp(((const struct item *)n)->name, key) == 0;
}

/* Enough records to make the table grow several times. */
static void
test_insert_lookup_remove(void)
{
	static struct item items[1000];
	struct htab h;
	size_t found = 0;

	htab_init(&h);
	for (size_t i = 0; i < 1000; i++) {
		snprintf(items[i].name, sizeof(items[i].name), "item-%zu", i);
		htab_insert(&h, &items[i].node, htab_hash_str(items[i].name));
	}
	CHECK_INT_EQ(h.count, 1000);
	for (size_t i = 0; i < 1000; i++)
		found += htab_lookup(&h, htab_hash_str(items[i].name), item_match,
		    items[i].name) == &items[i].node;
	CHECK_INT_EQ(found, 1000);
	CHECK(htab_lookup(&h, htab_hash_str("item-1000"), item_match, "item-1000") == NULL);
	htab_remove(&h, &items[500].node);
	CHECK(htab_lookup(&h, htab_hash_str("item-500"), item_match, "item-500") == NULL);
	CHECK(htab_lookup(&h, htab_hash_str("item-501"), item_match, "item-501") ==
	    &items[501].node);
	CHECK_INT_EQ(h.count, 999);
	/* Same input, same hash within the process. */
	CHECK(htab_hash_u64(42) == htab_hash_u64(42));
	CHECK(htab_hash_u64(42) != htab_hash_u64(43));
	htab_free(&h);
}

static size_t released;

static void
item_release(struct htab_node *n)
{
	released++;
	memset(n, 0, sizeof(*n));
}

/* A zeroed table is empty and usable; htab_clear hands back every record. */
static void
test_zeroed_table_and_clear(void)
{
	static struct item items[100];
	struct htab h = { 0 };

	CHECK(htab_lookup(&h, htab_hash_str("x"), item_match, "x") == NULL);
	for (size_t i = 0; i < 100; i++) {
		snprintf(items[i].name, sizeof(items[i].name), "item-%zu", i);
		htab_insert(&h, &items[i].node, htab_hash_str(items[i].name));
	}
	CHECK(htab_lookup(&h, htab_hash_str("item-42"), item_match, "item-42") ==
	    &items[42].node);
	htab_clear(&h, item_release);
	CHECK_INT_EQ(released, 100);
	CHECK_INT_EQ(h.count, 0);
	CHECK(htab_lookup(&h, htab_hash_str("item-42"), item_match, "item-42") == NULL);
	/* Cleared, it takes records again. */
	htab_insert(&h, &items[7].node, htab_hash_str(items[7].name));
	CHECK(htab_lookup(&h, htab_hash_str("item-7"), item_match, "item-7") == &items[7].node);
	htab_free(&h);
}

int
main(void)
{
	TEST_RUN(test_siphash24_reference_vectors);
	TEST_RUN(test_insert_lookup_remove);
	TEST_RUN(test_zeroed_table_and_clear);
	return test_exit();
}
