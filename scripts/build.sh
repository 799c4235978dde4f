# shellcheck shell=bash
# build_release DIR: configures (once) and builds clawgate in DIR the way people run
# it: meson's default options, i.e. an optimised build with the seccomp filter in
# kill mode and no sanitizer. ./quickstart builds ./build with it; ./check builds
# build-release with it and runs the whole integration suite against that build, so
# that the sandbox the tests exercise is the one users get.
build_release() {
	local dir=$1
	if [ ! -f "$dir/build.ninja" ]; then
		rm -rf "$dir"
		meson setup "$dir"
	fi
	ninja -C "$dir"
}
