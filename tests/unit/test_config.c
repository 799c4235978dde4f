/* brokerd/config: the gatewayctl command the Control UI shows, configured or
 * derived from the control socket's path, and clawgate.relay as gatewayd gets
 * it. (Refusals of bad values end brokerd: tests/integration/
 * test_control_ui_http.py and test_relay_config.py drive those.) */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brokerd/config.h"
#include "testutil.h"

static struct test_tmpdir dir;
static char config_path[PATH_MAX];

static void
write_config(const char *text)
{
	FILE *f = fopen(config_path, "w");

	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
}

static void
derived(const char *socket, int is_default, const char *want)
{
	struct config cfg;

	memset(&cfg, 0, sizeof(cfg));
	config_gatewayctl_default(&cfg, socket, is_default);
	CHECK_STR_EQ(cfg.gatewayctl, want);
}

static void
test_derived(void)
{
	derived("/run/clawgate/control.sock", 1, "gatewayctl");
	derived("/home/ann/clawgate/.clawgate/run/control.sock", 0,
	    "gatewayctl --socket /home/ann/clawgate/.clawgate/run/control.sock");
	/* Characters a shell would act on: the path is one single-quoted word. */
	derived("/home/ann/my clawgate/run/control.sock", 0,
	    "gatewayctl --socket '/home/ann/my clawgate/run/control.sock'");
	derived("/srv/$HOME/`id`;rm/control.sock", 0,
	    "gatewayctl --socket '/srv/$HOME/`id`;rm/control.sock'");
	derived("/srv/ann's/control.sock", 0, "gatewayctl --socket '/srv/ann'\\''s/control.sock'");
	derived("/srv/~x/control.sock", 0, "gatewayctl --socket '/srv/~x/control.sock'");
	derived("/srv/caf\xc3\xa9/control.sock", 0, "gatewayctl --socket '/srv/caf\xc3\xa9/control.sock'");
	/* Not showable as a line of text: plain gatewayctl (and a warning). */
	derived("/srv/new\nline/control.sock", 0, "gatewayctl");
	derived("/srv/bad\xff/control.sock", 0, "gatewayctl");
}

static void
test_configured(void)
{
	struct config cfg;

	unsetenv("CLAWGATE_GATEWAYCTL");
	write_config("{\"gateway\":{},\"clawgate\":{\"gatewayctl\":"
	    "\"./build/brokerd/gatewayctl --socket .clawgate/run/control.sock\"}}");
	config_load(&cfg, config_path);
	CHECK_STR_EQ(cfg.gatewayctl, "./build/brokerd/gatewayctl --socket .clawgate/run/control.sock");
	/* A configured command is never replaced by the derived one. */
	config_gatewayctl_default(&cfg, "/run/clawgate/control.sock", 1);
	CHECK_STR_EQ(cfg.gatewayctl, "./build/brokerd/gatewayctl --socket .clawgate/run/control.sock");
	config_free(&cfg);

	/* The config wins over the environment, the environment over the default. */
	setenv("CLAWGATE_GATEWAYCTL", "/opt/cg/gatewayctl --socket /srv/cg/control.sock", 1);
	config_load(&cfg, config_path);
	CHECK_STR_EQ(cfg.gatewayctl, "./build/brokerd/gatewayctl --socket .clawgate/run/control.sock");
	config_free(&cfg);
	write_config("{\"gateway\":{}}");
	config_load(&cfg, config_path);
	config_gatewayctl_default(&cfg, "/run/clawgate/control.sock", 1);
	CHECK_STR_EQ(cfg.gatewayctl, "/opt/cg/gatewayctl --socket /srv/cg/control.sock");
	config_free(&cfg);
	unsetenv("CLAWGATE_GATEWAYCTL");
	config_load(&cfg, config_path);
	config_gatewayctl_default(&cfg, "/run/clawgate/control.sock", 1);
	CHECK_STR_EQ(cfg.gatewayctl, "gatewayctl");
	config_free(&cfg);
}

static void
test_relay(void)
{
	struct config cfg;

	write_config("{\"gateway\":{\"port\":18789}}");
	config_load(&cfg, config_path);
	CHECK(cfg.relay.port == 0);
	CHECK_STR_EQ(cfg.relay_url, "");
	config_free(&cfg);

	/* Only the upstream given: the defaults of the upstream's documented setup. */
	write_config("{\"clawgate\":{\"relay\":{\"upstream\":\"ws://127.0.0.1:28811\"}}}");
	config_load(&cfg, config_path);
	CHECK_STR_EQ(cfg.relay.addr, "127.0.0.1");
	CHECK(cfg.relay.port == 28811);
	CHECK_STR_EQ(cfg.relay.host, "127.0.0.1:28811");
	CHECK_STR_EQ(cfg.relay.user_header, "x-clawgate-user");
	CHECK_STR_EQ(cfg.relay.user, "clawgate");
	CHECK(cfg.relay.nrequired_headers == 1);
	CHECK_STR_EQ(cfg.relay.required_headers[0], "x-clawgate-relay");
	CHECK_STR_EQ(cfg.relay.client_ip_placeholder, "192.0.2.1");
	config_free(&cfg);

	/* IPv6 in brackets, a trailing slash, header names lower-cased, no required
	 * header at all; the upstream may share the port number on another host. */
	write_config("{\"gateway\":{\"port\":28811},\"clawgate\":{\"relay\":{"
	    "\"upstream\":\"ws://[fd00::2]:28811/\",\"userHeader\":\"X-Remote-User\","
	    "\"user\":\"front-door\",\"requiredHeaders\":[],"
	    "\"clientIpPlaceholder\":\"2001:db8::1\"}}}");
	config_load(&cfg, config_path);
	CHECK_STR_EQ(cfg.relay_url, "ws://[fd00::2]:28811/");
	CHECK_STR_EQ(cfg.relay.addr, "fd00::2");
	CHECK(cfg.relay.port == 28811);
	CHECK_STR_EQ(cfg.relay.host, "[fd00::2]:28811");
	CHECK_STR_EQ(cfg.relay.user_header, "x-remote-user");
	CHECK_STR_EQ(cfg.relay.user, "front-door");
	CHECK(cfg.relay.nrequired_headers == 0);
	CHECK_STR_EQ(cfg.relay.client_ip_placeholder, "2001:db8::1");
	config_free(&cfg);

	write_config("{\"clawgate\":{\"relay\":{\"upstream\":\"ws://10.1.2.3:1\","
	    "\"requiredHeaders\":[\"X-A\",\"x-b\"]}}}");
	config_load(&cfg, config_path);
	CHECK(cfg.relay.port == 1);
	CHECK(cfg.relay.nrequired_headers == 2);
	CHECK_STR_EQ(cfg.relay.required_headers[0], "x-a");
	CHECK_STR_EQ(cfg.relay.required_headers[1], "x-b");
	config_free(&cfg);
}

int
main(void)
{
	test_tmpdir_make(&dir, "config");
	snprintf(config_path, sizeof(config_path), "%s", test_tmpdir_file(&dir, "clawgate.json"));
	TEST_RUN(test_derived);
	TEST_RUN(test_configured);
	TEST_RUN(test_relay);
	test_tmpdir_remove(&dir);
	return test_exit();
}
