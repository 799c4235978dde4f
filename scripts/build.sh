# shellcheck shell=bash
# build_dir DIR [OPTION...]: configures DIR with meson's default options plus the
# given -D options and builds it. A missing DIR is set up; an existing one is
# reconfigured with each given option it has with another value or lacks (a build
# dir made before the option existed, or without it).
build_dir() {
	local dir=$1 opt name want have
	local -a change=()
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		rm -rf "$dir"
		meson setup "$dir" "$@"
	else
		for opt in "$@"; do
			name=${opt#-D}
			name=${name%%=*}
			want=${opt#*=}
			have=$(build_option "$dir" "$name")
			[ "$have" = "$want" ] || change+=("$opt")
		done
		if [ ${#change[@]} -gt 0 ]; then
			meson setup --reconfigure "$dir" "${change[@]}"
		fi
	fi
	ninja -C "$dir"
}

# build_option DIR NAME: the value of meson option NAME in the configured DIR, as
# given on a command line (booleans as true/false, lists comma-separated).
build_option() {
	/usr/bin/python3 - "$1/meson-info/intro-buildoptions.json" "$2" <<'PY'
import json, sys
for opt in json.load(open(sys.argv[1])):
    if opt["name"] == sys.argv[2]:
        v = opt["value"]
        print(str(v).lower() if isinstance(v, bool) else
              ",".join(v) if isinstance(v, list) else v)
PY
}

# build_release DIR [OPTION...]: clawgate in DIR the way people run it: meson's
# default options, i.e. an optimised build with the seccomp filter in kill mode and
# no sanitizer. ./quickstart builds ./build with it; ./check builds build-release
# with it (plus -Dbench=true, for the load generator's smoke test: the daemons are
# the same) and runs the whole integration suite against that build, so that the
# sandbox the tests exercise is the one users get.
build_release() {
	build_dir "$@"
}
