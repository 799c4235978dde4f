/* brokerd/config: the gatewayctl command the Control UI shows, configured or
 * derived from the control socket's path. (Refusals of bad values end brokerd:
 * tests/integration/test_control_ui_http.py drives those.) */
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

int
main(void)
{
	test_tmpdir_make(&dir, "config");
	snprintf(config_path, sizeof(config_path), "%s", test_tmpdir_file(&dir, "clawgate.json"));
	TEST_RUN(test_derived);
	TEST_RUN(test_configured);
	test_tmpdir_remove(&dir);
	return test_exit();
}
